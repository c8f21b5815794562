/**
 * TCP throughput on Bun: the socket API (the Bun adapter, the same `ours()`
 * as on Node) against raw `Bun.listen`/`Bun.connect`. The baseline writes
 * 64 KiB chunks from the same ring, keeps the unwritten tail of a partial
 * write and resumes on `drain`, as raw Bun code must.
 */
import { aborted, ignore, type Measurement, type RunOptions, resources } from '../common.ts'
import { ours as portable } from '../tcp-throughput.ts'
import { type BunSocket, rawConnect, rawListener } from './raw.ts'

export const name = 'bun-tcp-throughput'
export const figure = 'Bun: TCP throughput, 1 conn, 64 KiB writes'
export const unit = 'MiB/s'
export const target = 0.9

const KiB = 1024
const MiB = 1024 * KiB
const CHUNK = 64 * KiB
const RING = 16

export const ours = portable

export async function baseline({ quick, signal }: RunOptions): Promise<Measurement> {
  const total = quick ? 64 * MiB : 1024 * MiB
  await using res = resources(signal)
  const counted = Promise.withResolvers<number>()
  counted.promise.catch(ignore)
  let count = 0
  const port = rawListener(res, {
    data: (_socket, data) => {
      count += data.byteLength
      if (count >= total) counted.resolve(performance.now())
    },
    error: (_socket, error) => counted.reject(error),
  })
  const ring = Array.from({ length: RING }, (_, i) => new Uint8Array(CHUNK).fill(i + 1))
  let sent = 0
  let slot = 0
  let tail: Uint8Array | undefined
  const pump = (socket: BunSocket<undefined>): void => {
    for (;;) {
      const chunk = tail ?? ring[slot++ % RING]!
      if (tail === undefined && sent >= total) return
      const written = socket.write(chunk)
      if (written < 0) return counted.reject(new Error('The socket closed while sending'))
      if (tail === undefined) sent += chunk.byteLength
      tail = written < chunk.byteLength ? chunk.subarray(written) : undefined
      if (tail !== undefined) return
    }
  }
  const client = await rawConnect(res, port, { drain: pump, data: ignore })
  const start = performance.now()
  pump(client)
  const end = await Promise.race([counted.promise, aborted(signal)])
  return { value: total / MiB / ((end - start) / 1000), seconds: (end - start) / 1000 }
}
