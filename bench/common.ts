/**
 * Shared shapes and helpers for the benchmark scenarios. Every scenario file
 * exports the metadata below plus `baseline()` (raw `node:net` / `node:dgram`)
 * and `ours()` (`@sockworker/sockets` on both ends), which do the same work.
 */

import { listen, type Socket } from '@sockworker/sockets'

/** What the harness hands each run. */
export interface RunOptions {
  /** Smaller sizes, for a smoke run. */
  quick: boolean
  /** Aborts when the run takes too long; the run must then release everything it holds. */
  signal: AbortSignal
}

/** One run's result. `value` is in the scenario's unit; its `better` says which way is better. */
export interface Measurement {
  value: number
  /** Wall time of the measured part. */
  seconds: number
  /** Secondary figures worth reporting (loss %, drops...). */
  extra?: Record<string, number>
}

/** What a scenario module exports. */
export interface Scenario {
  name: string
  figure: string
  unit: string
  /**
   * The goal, applied to what `goal` names: by default the least acceptable
   * `median(ours) / median(baseline)`. 0 means none: the figure is reported.
   */
  target: number
  /** `'lower'` for costs (CPU time, memory, start-up): the target is then a most. Default `'higher'`. */
  better?: 'higher' | 'lower'
  /**
   * What `target` bounds: `'ratio'` (default) ours / baseline, `'value'`
   * ours' own median (e.g. at most 8 KB per idle connection), or
   * `'difference'` ours − baseline (e.g. at most 150 ms more).
   */
  goal?: 'ratio' | 'value' | 'difference'
  baseline(options: RunOptions): Promise<Measurement>
  ours(options: RunOptions): Promise<Measurement>
  /**
   * What users would pick instead (workerd, Bun...), measured beside ours in
   * the same alternating rounds and reported against the baseline, with no target.
   */
  peers?: Record<string, (options: RunOptions) => Promise<Measurement>>
}

export const KiB = 1024
export const MiB = 1024 * KiB

/** Loopback only, IPv4: the same address for both halves. */
export const HOST = '127.0.0.1'

/**
 * A stack of clean-ups for one run. Disposing it (at the end of the run, or
 * when `signal` aborts) runs them in reverse order; a failing clean-up does
 * not stop the others.
 *
 * @example
 * await using res = resources(signal)
 * res.defer(() => server.close())
 */
export function resources(signal: AbortSignal): AsyncDisposableStack {
  const stack = new AsyncDisposableStack()
  const onAbort = (): void => {
    stack.disposeAsync().catch(() => {})
  }
  signal.addEventListener('abort', onAbort, { once: true })
  stack.defer(() => signal.removeEventListener('abort', onAbort))
  return stack
}

/** The part of a `Socket` that `shut()` needs. */
interface Closable {
  close(): Promise<void>
  abort(reason?: unknown): void
  closed: Promise<void>
}

/**
 * A clean-up for one of our sockets: `close()` (which flushes, and must
 * succeed) at the end of a normal run, `abort()` when the run was aborted.
 */
export function shut(socket: Closable, signal: AbortSignal): () => Promise<void> {
  return async () => {
    if (!signal.aborted) return socket.close()
    socket.abort(signal.reason)
    await socket.closed.catch(ignore)
  }
}

/** Rejects with `signal.reason` once `signal` aborts; race it against a run's main promise. */
export function aborted(signal: AbortSignal): Promise<never> {
  const { promise, reject } = Promise.withResolvers<never>()
  if (signal.aborted) reject(signal.reason)
  else signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  promise.catch(() => {})
  return promise
}

/** Run `worker` `concurrency` times in parallel until `total` jobs have started. */
export async function pool(
  total: number,
  concurrency: number,
  job: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < total) await job(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker))
}

export function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b)
  const mid = sorted.length >> 1
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Swallow a rejection that is observed elsewhere (or deliberately ignored). */
export function ignore(): void {}

/**
 * A listener on an ephemeral loopback port whose first accepted socket (or
 * UDP flow) is handed over; both are released with `res`.
 *
 * @example
 * const { port, first } = await listenForOne(res, signal, 'tcp')
 */
export async function listenForOne(
  res: AsyncDisposableStack,
  signal: AbortSignal,
  type: 'tcp' | 'udp',
): Promise<{ port: number; first: Promise<Socket> }> {
  const listener = listen({ type, hostname: HOST, port: 0 })
  res.defer(() => listener.close())
  const { port } = await listener.opened
  const first = (async () => {
    const accepted = await listener[Symbol.asyncIterator]().next()
    if (accepted.done) throw new Error('The listener closed before the first connection')
    res.defer(shut(accepted.value, signal))
    return accepted.value
  })()
  first.catch(() => {})
  return { port, first }
}
