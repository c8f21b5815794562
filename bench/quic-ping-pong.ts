/**
 * QUIC ping-pong: 64-byte round trips per second on one stream. Baseline:
 * the engine's channels, event-driven; ours: the public API's promise loop,
 * as in ping-pong.ts.
 */
import { aborted, type Measurement, type RunOptions, resources } from './common.ts'
import { quicPair, rawClient, rawServer } from './quic-common.ts'

export const name = 'quic-ping-pong'
export const figure = 'QUIC ping-pong, 64 B round trips'
export const unit = 'trips/s'
export const target = 0.9

const SIZE = 64

function trips(quick: boolean): number {
  return quick ? 500 : 5_000
}

function result(n: number, start: number, end: number): Measurement {
  const seconds = (end - start) / 1000
  return { value: n / seconds, seconds }
}

export async function baseline({ quick, signal }: RunOptions): Promise<Measurement> {
  const n = trips(quick)
  await using res = resources(signal)
  const port = await rawServer(res, (stream) => {
    stream.handler.data = (chunk) => void stream.write(chunk, () => {})
  })
  const stream = await rawClient(res, port)
  const ping = new Uint8Array(SIZE).fill(7)
  const finished = Promise.withResolvers<number>()
  let done = 0
  let got = 0
  stream.handler.data = (chunk) => {
    got += chunk.byteLength
    if (got < SIZE) return
    got -= SIZE
    if (++done === n) finished.resolve(performance.now())
    else stream.write(ping, () => {})
  }
  stream.resume()
  const start = performance.now()
  stream.write(ping, () => {})
  return result(n, start, await Promise.race([finished.promise, aborted(signal)]))
}

export async function ours({ quick, signal }: RunOptions): Promise<Measurement> {
  const n = trips(quick)
  await using res = resources(signal)
  const { client, server } = await quicPair(res)
  void (async () => {
    const reader = (await server).incomingBidirectionalStreams.getReader()
    const { value: stream } = await reader.read()
    if (stream === undefined) return
    const input = stream.readable.getReader()
    const output = stream.writable.getWriter()
    for (;;) {
      const { value, done } = await input.read()
      if (done) return
      await output.write(value)
    }
  })().catch(() => {})
  const stream = await client.createBidirectionalStream()
  const reader = stream.readable.getReader()
  const writer = stream.writable.getWriter()
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
  const start = performance.now()
  return result(n, start, await Promise.race([run(), aborted(signal)]))
}
