/**
 * `npm run bench`: each scenario in alternating rounds (baseline then ours,
 * then ours then baseline, ...) so that drift cancels out, then a table of
 * medians and ratios against the raw `node:net` / `node:dgram` baseline
 * measured in the same run. Results also go to `bench/results/latest.json`.
 * Then the socket API scenarios run on Deno against Deno's own API
 * (`bench/deno/run.ts`), unless `--side` asks for one half only.
 *
 * The `bun-*` scenarios (the socket API on Bun against Bun's raw API) need
 * `globalThis.Bun`: under Node this script runs them in a Bun child process
 * (`node_modules/.bin/bun bench/run.ts --only bun-...`) and folds its results
 * into the same table and JSON. Under Bun it runs only those.
 *
 * A scenario may bring peers (the runtime scenarios: workerd serving the
 * same echo worker, and Bun's raw echo): they run in the same alternating
 * rounds, and the table shows each one's median and its ratio to the
 * baseline, with no target. Costs (CPU time, memory, start-up) are
 * lower-is-better figures; see `Scenario` in common.ts for what a target
 * bounds.
 *
 * Flags: `--quick` (small sizes, 3 rounds: a smoke run), `--only <name>`
 * (repeatable), `--rounds <n>` (default 5), `--side baseline|ours` (one half
 * only, for profiling). Exits 1 when a run failed, not when a figure is below
 * its target: this is a benchmark, not a timed test.
 *
 * @example
 * npm run bench -- --quick --only ping-pong
 * npx node --cpu-prof --cpu-prof-dir /tmp/prof bench/run.ts --only connections --side ours
 */
import { spawn } from 'node:child_process'

import { once } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { bunScenarios } from './bun/scenarios.ts'
import type { Measurement, RunOptions, Scenario } from './common.ts'
import { median } from './common.ts'
import * as connections from './connections.ts'
import { connectorScenarios } from './connectors/scenarios.ts'
import * as pingPong from './ping-pong.ts'
import * as quicPingPong from './quic-ping-pong.ts'
import * as quicThroughput from './quic-throughput.ts'
import * as quicVsTls from './quic-vs-tls.ts'
import { runtimeScenarios } from './runtime/scenarios.ts'
import * as tcpThroughput from './tcp-throughput.ts'
import * as udp from './udp.ts'

/**
 * The socket API against raw node:net/node:dgram (issue 2), the runtime
 * against a hand-written server (issue 3), and pg in a worker against pg on
 * plain node:net (issue 4).
 */
const NODE_SCENARIOS: Scenario[] = [
  tcpThroughput,
  pingPong,
  connections,
  udp,
  quicThroughput,
  quicPingPong,
  quicVsTls,
  ...runtimeScenarios,
  ...connectorScenarios,
]
const onBun = 'Bun' in globalThis
/** Set in the Bun child: print results as JSON for the parent instead of a table. */
const asChild = process.env['SOCKWORKER_BENCH_CHILD'] === '1'
const SCENARIOS = onBun ? bunScenarios : NODE_SCENARIOS
type Side = 'baseline' | 'ours'

interface SideResult {
  runs: Measurement[]
  median: number | null
  error?: string
}

interface ScenarioResult {
  name: string
  figure: string
  unit: string
  target: number
  better?: 'higher' | 'lower'
  goal?: 'ratio' | 'value' | 'difference'
  baseline: SideResult
  ours: SideResult
  /** The peers' runs (workerd, Bun...), each with its ratio to the baseline. */
  peers?: Record<string, SideResult & { ratio: number | null }>
  ratio: number | null
  verdict: 'PASS' | 'BELOW' | 'ERROR' | 'SKIPPED'
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    rounds: { type: 'string' },
    side: { type: 'string' },
  },
})
const quick = values.quick
const rounds = values.rounds === undefined ? (quick ? 3 : 5) : Number(values.rounds)
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new RangeError(`Cannot use --rounds "${values.rounds}": give a whole number of 1 or more`)
}
const names = new Set([...NODE_SCENARIOS, ...bunScenarios].map((s) => s.name))
for (const only of values.only ?? []) {
  if (!names.has(only)) {
    throw new TypeError(`Unknown scenario "${only}": choose from ${[...names].join(', ')}`)
  }
}
const side = values.side
if (side !== undefined && side !== 'baseline' && side !== 'ours') {
  throw new TypeError(`Cannot use --side "${side}": choose baseline or ours`)
}
/** `--side` runs one half only, e.g. to profile it with `node --cpu-prof`. */
const sidesToRun: Side[] = side === undefined ? ['baseline', 'ours'] : [side]
const selected = SCENARIOS.filter((s) => !values.only || values.only.includes(s.name))
const bunSelected = onBun
  ? []
  : bunScenarios.filter((s) => !values.only || values.only.includes(s.name)).map((s) => s.name)
/** A run that takes longer than this is aborted and reported as an error. */
const RUN_TIMEOUT_MS = quick ? 20_000 : 120_000

const gc = onBun ? bunGc() : nodeGc()

function nodeGc(): () => void {
  v8.setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

function bunGc(): () => void {
  const bun = (globalThis as unknown as { Bun: { gc(force: boolean): void } }).Bun
  return () => bun.gc(true)
}

/** The Bun that ran the `bun-*` scenarios, for the JSON report. */
let childBunVersion: string | undefined

/**
 * Runs the selected `bun-*` scenarios in a Bun child with the same flags and
 * returns its results; a child that fails is reported as an error per scenario.
 */
async function runOnBun(scenarioNames: string[]): Promise<ScenarioResult[]> {
  const bun = join(import.meta.dirname, '..', 'node_modules', '.bin', 'bun')
  // The in-repo condition (.npmrc gives it to Node): without it, Bun resolves the package to dist/.
  const args = [
    '--conditions',
    'sockworker-source',
    join(import.meta.dirname, 'run.ts'),
    '--rounds',
    String(rounds),
  ]
  if (quick) args.push('--quick')
  if (side !== undefined) args.push('--side', side)
  for (const scenario of scenarioNames) args.push('--only', scenario)
  const child = spawn(bun, args, {
    env: { ...process.env, SOCKWORKER_BENCH_CHILD: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  }).catch((error: unknown) => {
    log(`Cannot run ${bun}: ${message(error)}`)
    return null
  })
  try {
    const report = JSON.parse(out) as { bun: string; results: ScenarioResult[] }
    childBunVersion = report.bun
    return report.results
  } catch {
    const error = `the Bun child exited with ${code} and no results`
    return bunScenarios
      .filter((s) => scenarioNames.includes(s.name))
      .map(({ name, figure, unit, target }) => ({
        name,
        figure,
        unit,
        target,
        baseline: { runs: [], median: null, error },
        ours: { runs: [], median: null, error },
        ratio: null,
        verdict: 'ERROR' as const,
      }))
  }
}

function log(line: string): void {
  process.stderr.write(line + '\n')
}

function fmt(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '-'
  if (value >= 100) return Math.round(value).toLocaleString('en-US')
  return value.toFixed(2)
}

function describe(m: Measurement): string {
  const extra = Object.entries(m.extra ?? {})
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(' ')
  return `(${m.seconds.toFixed(2)} s${extra ? `, ${extra}` : ''})`
}

type Run = (options: RunOptions) => Promise<Measurement>

async function runOnce(run: Run, options: RunOptions): Promise<Measurement> {
  gc()
  const { promise, reject } = Promise.withResolvers<never>()
  const onAbort = (): void => reject(options.signal.reason)
  options.signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await Promise.race([run(options), promise])
  } finally {
    options.signal.removeEventListener('abort', onAbort)
  }
}

/** What the scenario's target bounds: the ratio, ours' own median, or ours − baseline. */
function goalValue(scenario: Scenario, ours: number | null, baseline: number | null) {
  if (ours === null) return null
  if (scenario.goal === 'value') return ours
  if (baseline === null) return null
  return scenario.goal === 'difference' ? ours - baseline : ours / baseline
}

async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  // The peers run only beside both halves, not when --side asks for one.
  const peerNames = side === undefined ? Object.keys(scenario.peers ?? {}) : []
  const runners = new Map<string, Run>([
    ...sidesToRun.map((side) => [side, (o: RunOptions) => scenario[side](o)] as const),
    ...peerNames.map((peer) => [peer, scenario.peers![peer]!] as const),
  ])
  const order = [...runners.keys()]
  const sides = new Map<string, SideResult>(order.map((name) => [name, { runs: [], median: null }]))
  // An unrecorded warm-up at the quick size lets both halves reach optimised code first.
  for (const [name, run] of runners) {
    try {
      await runOnce(run, { quick: true, signal: AbortSignal.timeout(RUN_TIMEOUT_MS) })
    } catch (error) {
      sides.get(name)!.error = message(error)
      log(`[${scenario.name}] warm-up ${name} failed: ${message(error)}`)
    }
  }
  const width = Math.max(8, ...order.map((name) => name.length))
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? order : order.toReversed()) {
      const result = sides.get(name)!
      if (result.error !== undefined) continue
      const label = `[${scenario.name}] round ${round + 1}/${rounds} ${name.padEnd(width)}`
      try {
        const signal = AbortSignal.timeout(RUN_TIMEOUT_MS)
        const m = await runOnce(runners.get(name)!, { quick, signal })
        result.runs.push(m)
        log(`${label} ${fmt(m.value).padStart(12)} ${scenario.unit} ${describe(m)}`)
      } catch (error) {
        result.error = message(error)
        log(`${label} FAILED: ${message(error)}`)
      }
    }
  }
  for (const result of sides.values()) {
    if (result.error === undefined && result.runs.length > 0) {
      result.median = median(result.runs.map((m) => m.value))
    }
  }
  const none = (): SideResult => ({ runs: [], median: null })
  const baseline = sides.get('baseline') ?? none()
  const ours = sides.get('ours') ?? none()
  const ratio =
    ours.median !== null && baseline.median !== null ? ours.median / baseline.median : null
  const reached = goalValue(scenario, ours.median, baseline.median)
  const failed = baseline.error !== undefined || ours.error !== undefined
  const met =
    scenario.better === 'lower'
      ? (reached ?? 0) <= scenario.target
      : (reached ?? 0) >= scenario.target
  const verdict =
    reached !== null && ratio !== null
      ? scenario.target === 0 || met
        ? 'PASS'
        : 'BELOW'
      : failed
        ? 'ERROR'
        : 'SKIPPED'
  const peers = Object.fromEntries(
    peerNames.map((peer) => {
      const result = sides.get(peer)!
      const peerRatio =
        result.median !== null && baseline.median !== null ? result.median / baseline.median : null
      return [peer, { ...result, ratio: peerRatio }]
    }),
  )
  const { name, figure, unit, target, better, goal } = scenario
  const result: ScenarioResult = { name, figure, unit, target, baseline, ours, ratio, verdict }
  if (better !== undefined) result.better = better
  if (goal !== undefined) result.goal = goal
  if (peerNames.length > 0) result.peers = peers
  return result
}

function message(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return `${error.name}${code ? ` [${String(code)}]` : ''}: ${error.message}`
  }
  return String(error)
}

/** The target as the table shows it: `>= 1.8x`, `<= 8 KB`, `<= +150 ms`. */
function targetText(r: ScenarioResult): string {
  if (r.target === 0) return 'none'
  const bound = r.better === 'lower' ? '<=' : '>='
  if (r.goal === 'value') return `${bound} ${r.target} ${r.unit}`
  if (r.goal === 'difference') return `${bound} +${r.target} ${r.unit}`
  return `${bound} ${Number.isInteger(r.target) ? r.target.toFixed(1) : r.target}x`
}

/** A peer's median and, in brackets, its ratio to the baseline. */
function peerText(peer: (SideResult & { ratio: number | null }) | undefined): string {
  if (peer === undefined) return ''
  if (peer.error !== undefined) return 'error'
  return `${fmt(peer.median)} (${peer.ratio === null ? '-' : peer.ratio.toFixed(2)})`
}

function table(results: ScenarioResult[]): string {
  const peerNames = [...new Set(results.flatMap((r) => Object.keys(r.peers ?? {})))]
  const header = ['figure', 'unit', 'baseline', 'ours', 'ratio', 'target', 'result', ...peerNames]
  const rows = results.map((r) => [
    r.figure,
    r.unit,
    fmt(r.baseline.median),
    fmt(r.ours.median),
    r.ratio === null ? '-' : r.ratio.toFixed(2),
    targetText(r),
    r.target === 0 && r.verdict === 'PASS' ? 'REPORTED' : r.verdict,
    ...peerNames.map((peer) => peerText(r.peers?.[peer])),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function notes(results: ScenarioResult[]): string[] {
  const out: string[] = []
  for (const r of results) {
    const sides: Array<[string, SideResult]> = [
      ['baseline', r.baseline],
      ['ours', r.ours],
      ...Object.entries(r.peers ?? {}),
    ]
    for (const [side, s] of sides) {
      if (s.error !== undefined) out.push(`${r.name} ${side}: ${s.error}`)
      const extras = new Map<string, number[]>()
      for (const m of s.runs) {
        for (const [k, v] of Object.entries(m.extra ?? {}))
          extras.set(k, [...(extras.get(k) ?? []), v])
      }
      if (extras.size > 0) {
        const parts = [...extras].map(([k, v]) => `${k} median ${fmt(median(v))}`)
        out.push(`${r.name} ${side}: ${parts.join(', ')}`)
      }
    }
  }
  return out
}

const began = performance.now()
const bunVersion = (globalThis as { Bun?: { version: string } }).Bun?.version
log(
  `sockworker bench: ${bunVersion ? `bun ${bunVersion}` : `node ${process.version}`}, ${os.cpus().length} CPUs, ${rounds} rounds${quick ? ', quick' : ''}`,
)
const results: ScenarioResult[] = []
for (const scenario of selected) results.push(await runScenario(scenario))
if (asChild) {
  process.stdout.write(JSON.stringify({ bun: bunVersion, results }))
  process.exit(0)
}
if (bunSelected.length > 0) results.push(...(await runOnBun(bunSelected)))

const extraNotes = notes(results)
process.stdout.write(
  `\n${table(results)}\n${extraNotes.map((n) => `  ${n}`).join('\n')}\n` +
    `Medians of ${rounds} rounds; ratio = ours / baseline (a peer's in brackets); a target\n` +
    `bounds the ratio, or with a unit ours' median (or ours - baseline). Costs (CPU, memory,\n` +
    `start-up) are better lower, and their targets are a most.\n`,
)

const out = join(import.meta.dirname, 'results')
await mkdir(out, { recursive: true })
const report = {
  date: new Date().toISOString(),
  node: process.version,
  bun: bunVersion ?? childBunVersion ?? null,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  quick,
  rounds,
  only: values.only ?? null,
  side: side ?? null,
  seconds: (performance.now() - began) / 1000,
  results,
}
await writeFile(join(out, 'latest.json'), JSON.stringify(report, null, 2) + '\n')
log(`Wrote ${join(out, 'latest.json')} in ${report.seconds.toFixed(1)} s`)
const denoFailed = side === undefined ? await runOnDeno() : false
// A run that timed out may have left a socket behind; don't wait for it.
process.exit(results.some((r) => r.verdict === 'ERROR') || denoFailed ? 1 : 0)

/**
 * The socket API scenarios again on Deno, against Deno's own API
 * (bench/deno/run.ts), with the same flags. True when that run failed.
 */
async function runOnDeno(): Promise<boolean> {
  const denoNames = ['tcp-throughput', 'ping-pong', 'quic-throughput', 'quic-ping-pong']
  const wanted = values.only?.filter((name) => denoNames.includes(name))
  // The Deno-only variant of tcp-throughput goes with it.
  if (wanted?.includes('tcp-throughput')) wanted.push('tcp-throughput-owned')
  if (values.only !== undefined && wanted?.length === 0) return false
  const args = [
    'run',
    '-A',
    join(import.meta.dirname, 'deno', 'run.ts'),
    '--rounds',
    String(rounds),
  ]
  if (quick) args.push('--quick')
  for (const name of wanted ?? []) args.push('--only', name)
  const deno = join(import.meta.dirname, '..', 'node_modules', '.bin', 'deno')
  const child = spawn(deno, args, { stdio: 'inherit' })
  const [code] = (await once(child, 'close')) as [number | null]
  return code !== 0
}
