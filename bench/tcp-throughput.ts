/**
 * TCP throughput: one connection, 1 GiB in 64 KiB writes, the receiver counts
 * bytes. The clock runs from "connected" to "the receiver has counted the last
 * byte".
 *
 * The sender cycles through a ring of 16 buffers whose contents never change.
 * Ours reuses a slot only once that slot's previous write promise resolved (the
 * write contract), and paces itself on `writer.ready` rather than awaiting each
 * write, which is the idiomatic fast path for a WritableStream. The baseline
 * paces itself on `write()`'s return value and 'drain'.
 */
import { once } from 'node:events'
import net from 'node:net'
import { connect } from '@sockworker/sockets'
import {
  aborted,
  HOST,
  ignore,
  KiB,
  listenForOne,
  type Measurement,
  MiB,
  type RunOptions,
  resources,
  shut,
} from './common.ts'

export const name = 'tcp-throughput'
export const figure = 'TCP throughput, 1 conn, 64 KiB writes'
export const unit = 'MiB/s'
export const target = 0.9

const CHUNK = 64 * KiB
const RING = 16

function totalBytes(quick: boolean): number {
  return quick ? 64 * MiB : 1024 * MiB
}

function makeRing(): Uint8Array[] {
  return Array.from({ length: RING }, (_, i) => new Uint8Array(CHUNK).fill(i + 1))
}

/** The receiver's end time once the sender also finished; the first failure of either wins. */
async function bothDone(sending: Promise<void>, counted: Promise<number>): Promise<number> {
  const [, end] = await Promise.all([sending, counted])
  return end
}

function result(total: number, start: number, end: number): Measurement {
  const seconds = (end - start) / 1000
  return { value: total / MiB / seconds, seconds }
}

export async function baseline({ quick, signal }: RunOptions): Promise<Measurement> {
  const total = totalBytes(quick)
  await using res = resources(signal)
  const counted = Promise.withResolvers<number>()
  counted.promise.catch(ignore)
  const server = net.createServer({ noDelay: true }, (sock) => {
    res.defer(() => void sock.destroy())
    let count = 0
    sock.on('data', (chunk: Buffer) => {
      count += chunk.byteLength
      if (count >= total) counted.resolve(performance.now())
    })
    sock.on('error', counted.reject)
  })
  res.defer(() => new Promise<void>((resolve) => server.close(() => resolve())))
  server.listen(0, HOST)
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo

  const client = net.connect({ port, host: HOST, noDelay: true })
  res.defer(() => void client.destroy())
  await once(client, 'connect')
  const ring = makeRing()
  const send = async (): Promise<void> => {
    for (let sent = 0, i = 0; sent < total; sent += CHUNK, i++) {
      if (!client.write(ring[i % RING]!)) await once(client, 'drain', { signal })
    }
    client.end()
  }
  const start = performance.now()
  const end = await Promise.race([bothDone(send(), counted.promise), aborted(signal)])
  return result(total, start, end)
}

export async function ours({ quick, signal }: RunOptions): Promise<Measurement> {
  const total = totalBytes(quick)
  await using res = resources(signal)
  const { port, first } = await listenForOne(res, signal, 'tcp')

  const counted = (async () => {
    const sock = await first
    const reader = sock.readable.getReader()
    let count = 0
    while (count < total) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`The stream ended after ${count} of ${total} bytes`)
      count += value.byteLength
    }
    return performance.now()
  })()
  counted.catch(ignore)

  const client = connect({ hostname: HOST, port })
  res.defer(shut(client, signal))
  const writer = client.writable.getWriter()
  await writer.ready
  const ring = makeRing()
  const send = async (): Promise<void> => {
    const pending: Array<Promise<void> | undefined> = new Array(RING)
    for (let sent = 0, i = 0; sent < total; sent += CHUNK, i++) {
      const slot = i % RING
      await pending[slot]
      await writer.ready
      const write = writer.write(ring[slot]!)
      write.catch(ignore)
      pending[slot] = write
    }
    await Promise.all(pending)
    await writer.close()
  }
  const start = performance.now()
  const end = await Promise.race([bothDone(send(), counted), aborted(signal)])
  return result(total, start, end)
}
