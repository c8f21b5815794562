/**
 * Ping-pong on Bun: 64-byte round trips on one connection, the socket API
 * (the same promise loop as on Node) against event-driven raw
 * `Bun.listen`/`Bun.connect` code.
 */
import { aborted, type Measurement, type RunOptions, resources } from '../common.ts'
import { ours as portable } from '../ping-pong.ts'
import { rawConnect, rawListener } from './raw.ts'

export const name = 'bun-ping-pong'
export const figure = 'Bun: ping-pong, 64 B round trips'
export const unit = 'trips/s'
export const target = 0.8

const SIZE = 64

export const ours = portable

export async function baseline({ quick, signal }: RunOptions): Promise<Measurement> {
  const n = quick ? 2_000 : 20_000
  await using res = resources(signal)
  // 64 bytes always fit in an empty socket buffer: every write is whole.
  const port = rawListener(res, { data: (socket, data) => void socket.write(data) })
  const ping = new Uint8Array(SIZE).fill(7)
  const finished = Promise.withResolvers<number>()
  let done = 0
  let got = 0
  const client = await rawConnect(res, port, {
    data: (socket, data) => {
      got += data.byteLength
      if (got < SIZE) return
      got -= SIZE
      if (++done === n) finished.resolve(performance.now())
      else socket.write(ping)
    },
    error: (_socket, error) => finished.reject(error),
  })
  const start = performance.now()
  client.write(ping)
  const end = await Promise.race([finished.promise, aborted(signal)])
  return { value: n / ((end - start) / 1000), seconds: (end - start) / 1000 }
}
