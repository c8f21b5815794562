/**
 * One target's fuzzing run inside a worker thread, so that the main thread
 * can stop a hang (a synchronous parser cannot be interrupted from inside)
 * and survive an out-of-memory abort. Before each input the worker copies it
 * into shared memory with its index: whatever kills the worker, the main
 * thread knows which input did it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { type Finding, runTarget } from './run-target.ts'
import type { FuzzTarget } from './target.ts'

export interface WorkerInput {
  file: string
  runs: number
  start: number
  seed: number
  hangMs: number
  allocBytes: number
  /** [0]: index of the input running, [1]: its length; then the input's bytes from byte 8. */
  shared: SharedArrayBuffer
}

export type WorkerMessage =
  | { type: 'progress' | 'done'; counts: Counts }
  | { type: 'finding'; finding: Finding }

/** What a worker has run and found so far. */
export interface Counts {
  inputs: number
  crashes: number
  hangs: number
  allocs: number
}

const data = workerData as WorkerInput
const header = new Int32Array(data.shared, 0, 2)
const current = new Uint8Array(data.shared, 8)
const { default: target } = (await import(data.file)) as { default: FuzzTarget }
const post = (message: WorkerMessage) => parentPort?.postMessage(message)
const counts: Counts = { inputs: 0, crashes: 0, hangs: 0, allocs: 0 }
const stats = await runTarget(target, {
  ...data,
  beforeInput(index, input) {
    const length = Math.min(input.length, current.length)
    current.set(input.subarray(0, length))
    Atomics.store(header, 1, length)
    Atomics.store(header, 0, index)
    if (counts.inputs % 5000 === 0 && counts.inputs > 0) post({ type: 'progress', counts })
    counts.inputs++
  },
  onFinding: (finding) => post({ type: 'finding', finding }),
  stats: counts,
})
post({ type: 'done', counts: stats })
