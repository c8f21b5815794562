/**
 * QUIC throughput: one stream, 64 KiB writes, the server counts bytes. The
 * baseline drives the Node QUIC engine's channels directly (no web
 * streams); ours uses the public API on both ends. The gap is what our
 * streams cost on top of the engine.
 */
import { aborted, type Measurement, MiB, type RunOptions, resources } from './common.ts'
import { quicPair, rawClient, rawServer } from './quic-common.ts'

export const name = 'quic-throughput'
export const figure = 'QUIC throughput, 1 stream, 64 KiB writes'
export const unit = 'MiB/s'
export const target = 0.9

const CHUNK = new Uint8Array(64 * 1024).fill(1)

export function totalBytes(quick: boolean): number {
  return quick ? 4 * MiB : 32 * MiB
}

function result(bytes: number, start: number, end: number): Measurement {
  const seconds = (end - start) / 1000
  return { value: bytes / MiB / seconds, seconds }
}

export async function baseline({ quick, signal }: RunOptions): Promise<Measurement> {
  const total = totalBytes(quick)
  await using res = resources(signal)
  const done = Promise.withResolvers<number>()
  let received = 0
  const port = await rawServer(res, (stream) => {
    stream.handler.data = (chunk) => {
      received += chunk.byteLength
      if (received >= total) done.resolve(performance.now())
    }
  })
  const stream = await rawClient(res, port)
  let sent = 0
  const pump = (): void => {
    while (sent < total) {
      sent += CHUNK.byteLength
      if (!stream.write(CHUNK, pump)) return
    }
  }
  const start = performance.now()
  pump()
  return result(total, start, await Promise.race([done.promise, aborted(signal)]))
}

export async function ours({ quick, signal }: RunOptions): Promise<Measurement> {
  const total = totalBytes(quick)
  await using res = resources(signal)
  const { client, server } = await quicPair(res)
  const counted = (async () => {
    const reader = (await server).incomingBidirectionalStreams.getReader()
    const { value: stream } = await reader.read()
    if (stream === undefined) throw new Error('No stream')
    let received = 0
    for await (const chunk of stream.readable) {
      received += chunk.byteLength
      if (received >= total) return performance.now()
    }
    throw new Error(`The stream ended after ${received} bytes`)
  })()
  counted.catch(() => {})
  const stream = await client.createBidirectionalStream()
  const writer = stream.writable.getWriter()
  const start = performance.now()
  for (let sent = 0; sent < total; sent += CHUNK.byteLength) {
    await writer.ready
    writer.write(CHUNK).catch(() => {})
  }
  return result(total, start, await Promise.race([counted, aborted(signal)]))
}
