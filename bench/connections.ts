/**
 * Connections per second: each connection connects, sends 16 bytes, reads the
 * server's 16-byte reply and closes; 50 run at a time. The server reads 16
 * bytes, replies, and closes its side once the client has closed. The clock
 * stops when every connection is closed on both ends, so both halves do the
 * same work whatever each API's `close` waits for.
 */
import { once } from 'node:events'
import net from 'node:net'
import { connect, listen, type Socket } from '@sockworker/sockets'
import {
  aborted,
  HOST,
  ignore,
  type Measurement,
  pool,
  type RunOptions,
  resources,
  shut,
} from './common.ts'

export const name = 'connections'
export const figure = 'Connections/s, 16 B each way, 50 at a time'
export const unit = 'conn/s'
export const target = 0.8

const SIZE = 16
const CONCURRENCY = 50

function connections(quick: boolean): number {
  return quick ? 300 : 5_000
}

function result(n: number, start: number, end: number): Measurement {
  const seconds = (end - start) / 1000
  return { value: n / seconds, seconds }
}

/** Resolves once `n` calls to `tick()` happened. */
function counter(n: number): { tick: () => void; done: Promise<void> } {
  const { promise, resolve } = Promise.withResolvers<void>()
  let count = 0
  return { tick: () => ++count === n && resolve(), done: promise }
}

export async function baseline({ quick, signal }: RunOptions): Promise<Measurement> {
  const n = connections(quick)
  await using res = resources(signal)
  const reply = new Uint8Array(SIZE).fill(2)
  const request = new Uint8Array(SIZE).fill(1)
  const serverClosed = counter(n)
  const live = new Set<net.Socket>()
  res.defer(() => {
    for (const sock of live) sock.destroy()
  })
  const server = net.createServer({ noDelay: true }, (sock) => {
    live.add(sock)
    let got = 0
    sock.on('data', (chunk: Buffer) => {
      const before = got
      got += chunk.byteLength
      if (before < SIZE && got >= SIZE) sock.write(reply)
    })
    sock.on('error', ignore)
    sock.on('close', () => {
      live.delete(sock)
      serverClosed.tick()
    })
  })
  res.defer(() => new Promise<void>((resolve) => server.close(() => resolve())))
  server.listen({ port: 0, host: HOST, backlog: 511 })
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo

  const one = (): Promise<void> => {
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    const sock = net.connect({ port, host: HOST, noDelay: true }, () => sock.write(request))
    live.add(sock)
    let got = 0
    sock.on('data', (chunk: Buffer) => {
      got += chunk.byteLength
      if (got >= SIZE) sock.end()
    })
    sock.on('error', reject)
    sock.on('close', () => {
      live.delete(sock)
      if (got >= SIZE) resolve()
      else reject(new Error(`A connection closed after ${got} of ${SIZE} reply bytes`))
    })
    return promise
  }
  const start = performance.now()
  const all = Promise.all([pool(n, CONCURRENCY, one), serverClosed.done])
  await Promise.race([all, aborted(signal)])
  return result(n, start, performance.now())
}

/** Read exactly `size` bytes, or fail. */
async function readBytes(reader: ReadableStreamDefaultReader<Uint8Array>, size: number) {
  for (let got = 0; got < size; ) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`The stream ended after ${got} of ${size} bytes`)
    got += value.byteLength
  }
}

export async function ours({ quick, signal }: RunOptions): Promise<Measurement> {
  const n = connections(quick)
  await using res = resources(signal)
  const reply = new Uint8Array(SIZE).fill(2)
  const request = new Uint8Array(SIZE).fill(1)
  const serverClosed = counter(n)
  const failed = Promise.withResolvers<never>()
  failed.promise.catch(ignore)
  const live = new Set<Socket>()
  res.defer(async () => {
    await Promise.all(Array.from(live, (sock) => shut(sock, signal)().catch(ignore)))
  })
  const listener = listen({ type: 'tcp', hostname: HOST, port: 0, backlog: 511 })
  res.defer(() => listener.close())
  const { port } = await listener.opened

  // Server: read the request, reply, then wait for the client's end before closing.
  const serve = async (sock: Socket): Promise<void> => {
    live.add(sock)
    try {
      const reader = sock.readable.getReader()
      const writer = sock.writable.getWriter()
      await readBytes(reader, SIZE)
      await writer.write(reply)
      while (!(await reader.read()).done) {}
      await sock.close()
      serverClosed.tick()
    } catch (error) {
      sock.abort(error)
      throw error
    } finally {
      live.delete(sock)
    }
  }
  void (async () => {
    for await (const sock of listener) serve(sock).catch(failed.reject)
  })().catch(failed.reject)

  const one = async (): Promise<void> => {
    const sock = connect({ hostname: HOST, port })
    live.add(sock)
    try {
      const reader = sock.readable.getReader()
      const writer = sock.writable.getWriter()
      await writer.write(request)
      await readBytes(reader, SIZE)
      await sock.close()
    } catch (error) {
      sock.abort(error)
      throw error
    } finally {
      live.delete(sock)
    }
  }
  const start = performance.now()
  const all = Promise.all([pool(n, CONCURRENCY, one), serverClosed.done])
  await Promise.race([all, failed.promise, aborted(signal)])
  return result(n, start, performance.now())
}
