/**
 * Ping-pong: 64-byte round trips per second on one connection. The client
 * writes 64 bytes, the server echoes whatever it reads, the client waits for
 * all 64 bytes to come back, and repeats. Nagle is off on both sides (ours
 * defaults to `noDelay: true`, so the baseline sets it too).
 *
 * The baseline is event-driven, as raw `node:net` code is. Ours is the plain
 * promise loop a user would write: `await writer.write()`, then
 * `await reader.read()` until 64 bytes are back; the server's echo loop is
 * `read()` then `await write()`.
 */
import { once } from 'node:events'
import net from 'node:net'
import { connect } from '@sockworker/sockets'
import {
  aborted,
  HOST,
  ignore,
  listenForOne,
  type Measurement,
  type RunOptions,
  resources,
  shut,
} from './common.ts'

export const name = 'ping-pong'
export const figure = 'Ping-pong, 64 B round trips'
export const unit = 'trips/s'
export const target = 0.8

const SIZE = 64

function trips(quick: boolean): number {
  return quick ? 2_000 : 20_000
}

function result(n: number, start: number, end: number): Measurement {
  const seconds = (end - start) / 1000
  return { value: n / seconds, seconds }
}

export async function baseline({ quick, signal }: RunOptions): Promise<Measurement> {
  const n = trips(quick)
  await using res = resources(signal)
  const server = net.createServer({ noDelay: true }, (sock) => {
    res.defer(() => void sock.destroy())
    sock.on('data', (chunk: Buffer) => sock.write(chunk))
    sock.on('error', ignore)
  })
  res.defer(() => new Promise<void>((resolve) => server.close(() => resolve())))
  server.listen(0, HOST)
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo

  const client = net.connect({ port, host: HOST, noDelay: true })
  res.defer(() => void client.destroy())
  await once(client, 'connect')
  const ping = new Uint8Array(SIZE).fill(7)
  const finished = Promise.withResolvers<number>()
  let done = 0
  let got = 0
  client.on('error', finished.reject)
  client.on('data', (chunk: Buffer) => {
    got += chunk.byteLength
    if (got < SIZE) return
    got -= SIZE
    if (++done === n) finished.resolve(performance.now())
    else client.write(ping)
  })
  const start = performance.now()
  client.write(ping)
  const end = await Promise.race([finished.promise, aborted(signal)])
  return result(n, start, end)
}

export async function ours({ quick, signal }: RunOptions): Promise<Measurement> {
  const n = trips(quick)
  await using res = resources(signal)
  const { port, first } = await listenForOne(res, signal, 'tcp')

  const echoed = (async () => {
    const sock = await first
    const reader = sock.readable.getReader()
    const writer = sock.writable.getWriter()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      await writer.write(value)
    }
  })()
  echoed.catch(ignore)

  const client = connect({ hostname: HOST, port })
  res.defer(shut(client, signal))
  const reader = client.readable.getReader()
  const writer = client.writable.getWriter()
  await writer.ready
  const ping = new Uint8Array(SIZE).fill(7)
  const run = async (): Promise<number> => {
    for (let i = 0; i < n; i++) {
      await writer.write(ping)
      for (let got = 0; got < SIZE; ) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`The stream ended after ${i} round trips`)
        got += value.byteLength
      }
    }
    return performance.now()
  }
  // The echo loop must outlive the client's loop: its end, clean or not, is a failure here.
  const serverEnded = echoed.then(() => {
    throw new Error('The server side ended before the client finished')
  })
  serverEnded.catch(ignore)
  const start = performance.now()
  const ran = run()
  ran.catch(ignore)
  const end = await Promise.race([ran, serverEnded, aborted(signal)])
  return result(n, start, end)
}
