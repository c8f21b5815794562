/**
 * Runs one target's inputs in a worker thread and watches it: a worker that
 * stops making progress is a hang, one that dies of memory is an unbounded
 * allocation. Either way the input it was on is read from shared memory,
 * recorded, and a new worker resumes at the next input.
 */
import { Worker } from 'node:worker_threads'
import type { Finding, RunStats } from './run-target.ts'
import type { Counts, WorkerInput, WorkerMessage } from './worker.ts'

export interface SuperviseOptions {
  runs: number
  seed: number
  hangMs: number
  allocBytes: number
  /** A worker with no new input for this long is stopped, and its input is a hang. */
  stallMs: number
  /** The worker's JS heap limit; past it, its input is an unbounded allocation. */
  heapMb: number
  /** Stop after this many milliseconds, reporting the inputs run so far. */
  maxMs: number
  onProgress?: (counts: Counts) => void
  onFinding?: (finding: Finding) => void
}

const WORKER = new URL('./worker.ts', import.meta.url)
/** Larger than any target's maxLength: the input a worker dies on is kept whole. */
const SHARED_INPUT = 1 << 20

/**
 * Fuzzes the target in `file` under watch.
 *
 * @example
 * const stats = await supervise('/repo/fuzz/targets/proxy-v2.ts', options)
 */
export async function supervise(file: string, options: SuperviseOptions): Promise<RunStats> {
  const total: RunStats = { inputs: 0, crashes: 0, hangs: 0, allocs: 0, findings: [] }
  const deadline = Date.now() + options.maxMs
  const report = (finding: Finding) => {
    total.findings.push(finding)
    options.onFinding?.(finding)
  }
  let start = 0
  while (start < options.runs && Date.now() < deadline) {
    const base = { ...total }
    const ended = await runWorker(
      file,
      start,
      options,
      deadline,
      (counts) => {
        add(total, base, counts)
        options.onProgress?.(total)
      },
      report,
    )
    add(total, base, ended.counts)
    if (ended.kind === 'done') break
    const { index, message, input } = ended
    total.inputs = base.inputs + (index - start) + 1
    if (ended.kind === 'hang') total.hangs++
    else total.allocs++
    report({ kind: ended.kind, index, message, input })
    start = index + 1
  }
  return total
}

function add(total: RunStats, base: Counts, counts: Counts): void {
  total.inputs = base.inputs + counts.inputs
  total.crashes = base.crashes + counts.crashes
  total.hangs = base.hangs + counts.hangs
  total.allocs = base.allocs + counts.allocs
}

type Ended =
  | { kind: 'done'; counts: Counts }
  | {
      kind: 'hang' | 'alloc'
      counts: Counts
      index: number
      message: string
      input: Uint8Array
    }

function runWorker(
  file: string,
  start: number,
  options: SuperviseOptions,
  deadline: number,
  onCounts: (counts: Counts) => void,
  onFinding: (finding: Finding) => void,
): Promise<Ended> {
  const shared = new SharedArrayBuffer(8 + SHARED_INPUT)
  const header = new Int32Array(shared, 0, 2)
  Atomics.store(header, 0, start - 1)
  const data: WorkerInput = {
    file,
    runs: options.runs - start,
    start,
    seed: options.seed,
    hangMs: options.hangMs,
    allocBytes: options.allocBytes,
    shared,
  }
  const worker = new Worker(WORKER, {
    workerData: data,
    resourceLimits: { maxOldGenerationSizeMb: options.heapMb },
  })
  let counts: Counts = { inputs: 0, crashes: 0, hangs: 0, allocs: 0 }
  const { promise, resolve, reject } = Promise.withResolvers<Ended>()
  const current = () => ({
    index: Atomics.load(header, 0),
    input: new Uint8Array(shared, 8, Atomics.load(header, 1)).slice(),
  })
  let last = -1
  let lastChange = Date.now()
  const watchdog = setInterval(() => {
    const index = Atomics.load(header, 0)
    // Loading the target takes a while, and is no input's fault.
    if (index < start) lastChange = Date.now()
    else if (index !== last) {
      last = index
      lastChange = Date.now()
    } else if (Date.now() - lastChange > options.stallMs) {
      const seconds = Math.round((Date.now() - lastChange) / 1000)
      finish({ kind: 'hang', counts, message: `no progress for ${seconds} s`, ...current() })
    }
    if (Date.now() > deadline) {
      finish({ kind: 'done', counts: { ...counts, inputs: Math.max(0, index - start) } })
    }
  }, 250)
  const finish = (ended: Ended) => {
    clearInterval(watchdog)
    void worker.terminate()
    resolve(ended)
  }
  worker.on('message', (message: WorkerMessage) => {
    if (message.type === 'finding') return onFinding(message.finding)
    counts = { ...message.counts }
    onCounts(counts)
    if (message.type === 'done') finish({ kind: 'done', counts })
  })
  worker.on('error', (error: Error & { code?: string }) => {
    if (error.code !== 'ERR_WORKER_OUT_OF_MEMORY') {
      // Not an input's doing (a target that fails to load, say): stop.
      clearInterval(watchdog)
      reject(new Error(`The fuzz worker for ${file} failed: ${error.message}`, { cause: error }))
      return
    }
    // A worker that died on an input ran the ones before it.
    const { index, input } = current()
    const message = `out of memory (heap limit ${options.heapMb} MB)`
    finish({ kind: 'alloc', counts: { ...counts, inputs: index - start }, index, message, input })
  })
  return promise
}
