/**
 * The fuzzing loop: generates inputs, runs the target's check on each, and
 * sorts what goes wrong into crashes (an error the parser does not
 * document, or a broken property), hangs (an input slower than the time
 * bound) and unbounded allocations (an input that makes the parser hold
 * far more memory than its size warrants).
 */
import { getHeapStatistics } from 'node:v8'
import fc from 'fast-check'
import { inputArbitrary } from './mutate.ts'
import type { FuzzTarget } from './target.ts'

/** Inputs generated per `fc.sample` call; a batch's seed is the run's seed plus its index. */
export const BATCH = 1000

export interface RunOptions {
  /** Inputs to run, counting from `start`. */
  runs: number
  /** The seed of the input sequence: the same seed gives the same inputs. */
  seed: number
  /** Index of the first input, to resume after a worker was restarted. Default: 0. */
  start?: number
  /** An input slower than this is a hang. */
  hangMs: number
  /** An input that leaves more than this many bytes of new buffers is an unbounded allocation. */
  allocBytes: number
  /** Called before each input, with its index: the worker records it for the watchdog. */
  beforeInput?: (index: number, input: Uint8Array) => void
  /** Called for the first finding of each distinct message, as it happens. */
  onFinding?: (finding: Finding) => void
  /** Counters to update as the run goes, for progress reports. */
  stats?: { crashes: number; hangs: number; allocs: number }
}

export type FindingKind = 'crash' | 'hang' | 'alloc'

/** One input that broke a target. */
export interface Finding {
  kind: FindingKind
  index: number
  /** The error's name and message, or what was measured. */
  message: string
  stack?: string | undefined
  input: Uint8Array
}

export interface RunStats {
  inputs: number
  crashes: number
  hangs: number
  allocs: number
  /** The first finding per distinct message: the rest repeat a known bug. */
  findings: Finding[]
}

/**
 * Runs `target` on `options.runs` generated inputs.
 *
 * @example
 * const stats = await runTarget(target, { runs: 2000, seed: 1, hangMs: 1000, allocBytes: 64 << 20 })
 */
export async function runTarget(target: FuzzTarget, options: RunOptions): Promise<RunStats> {
  const stats: RunStats = { inputs: 0, crashes: 0, hangs: 0, allocs: 0, findings: [] }
  const seen = new Set<string>()
  const record = (finding: Finding) => {
    const counters = [stats, ...(options.stats ? [options.stats] : [])]
    for (const counter of counters) {
      if (finding.kind === 'crash') counter.crashes++
      else if (finding.kind === 'hang') counter.hangs++
      else counter.allocs++
    }
    // One bug, many inputs: the same error thrown from the same place is counted, not listed.
    const where = finding.stack?.split('\n').slice(1, 3).join() ?? ''
    const key = `${finding.kind} ${finding.message.replace(/\d+/g, 'N').split(':')[0]} ${where}`
    if (seen.has(key)) return
    seen.add(key)
    stats.findings.push(finding)
    options.onFinding?.(finding)
  }
  for (const [index, input] of inputsOf(target, options)) {
    options.beforeInput?.(index, input)
    const external = getHeapStatistics().external_memory
    const started = performance.now()
    try {
      const pending = target.check(input)
      if (pending !== undefined) await pending
    } catch (error) {
      const { name, message, stack } = error instanceof Error ? error : new Error(String(error))
      record({ kind: 'crash', index, message: `${name}: ${message}`, input, ...{ stack } })
    }
    const elapsed = performance.now() - started
    const grown = getHeapStatistics().external_memory - external
    // On a busy machine a GC pause or a slow disk can stretch one input: a
    // hang counts only if running the input again is as slow.
    if (elapsed > options.hangMs && (await timed(target, input)) > options.hangMs) {
      record({ kind: 'hang', index, message: `took ${Math.round(elapsed)} ms`, input })
    }
    if (grown > options.allocBytes) {
      record({ kind: 'alloc', index, message: `allocated ${grown} bytes`, input })
    }
    stats.inputs++
  }
  return stats
}

/** How long `target` takes on `input`, whatever it throws. */
async function timed(target: FuzzTarget, input: Uint8Array): Promise<number> {
  const started = performance.now()
  try {
    await target.check(input)
  } catch {
    // Counted on the first run.
  }
  return performance.now() - started
}

/** The inputs from `start` to `start + runs`, with their indices, generated lazily. */
function* inputsOf(target: FuzzTarget, options: RunOptions): Generator<[number, Uint8Array]> {
  const arbitrary = inputArbitrary(target)
  const start = options.start ?? 0
  const end = start + options.runs
  for (let batch = Math.floor(start / BATCH); batch * BATCH < end; batch++) {
    const inputs = fc.sample(arbitrary, { numRuns: BATCH, seed: options.seed + batch })
    for (let i = 0; i < BATCH; i++) {
      const index = batch * BATCH + i
      if (index >= start && index < end) yield [index, inputs[i]!]
    }
  }
}
