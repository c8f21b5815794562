/**
 * The socket API benchmark on Deno: `@sockworker/sockets` (resolved to the
 * Deno adapter through deno.json) against Deno's own `Deno.connect()` /
 * `Deno.listen()` (and `Deno.connectQuic()` for QUIC) in the same run, in alternating rounds, as `bench/run.ts`
 * does on Node. `npm run bench` runs it after the Node scenarios.
 *
 *   deno run -A bench/deno/run.ts [--quick] [--rounds n] [--only name]
 */
import { parseArgs } from 'node:util'
import { type Measurement, median, type RunOptions } from '../common.ts'
import * as pingPong from '../ping-pong.ts'
import * as quicPingPong from '../quic-ping-pong.ts'
import * as quicThroughput from '../quic-throughput.ts'
import * as tcpThroughput from '../tcp-throughput.ts'
import * as quicRaw from './quic-raw.ts'
import * as raw from './raw.ts'

interface DenoScenario {
  name: string
  figure: string
  unit: string
  target: number
  baseline(options: RunOptions): Promise<Measurement>
  ours(options: RunOptions): Promise<Measurement>
}

/** Our half is the Node scenario's own `ours()`: the same portable code. */
const SCENARIOS: DenoScenario[] = [
  { ...tcpThroughput, baseline: raw.throughput },
  {
    ...tcpThroughput,
    name: 'tcp-throughput-owned',
    figure: 'TCP throughput vs. Deno reading into new buffers',
    baseline: raw.throughputOwned,
  },
  { ...pingPong, baseline: raw.pingPong },
  // Deno's own QUIC through its web streams is the baseline, not the quiche engine's channels.
  { ...quicThroughput, baseline: quicRaw.throughput },
  { ...quicPingPong, baseline: quicRaw.pingPong },
]

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    rounds: { type: 'string' },
  },
  strict: false,
})
const quick = values.quick === true
const rounds = typeof values.rounds === 'string' ? Number(values.rounds) : quick ? 3 : 5
const only = Array.isArray(values.only) ? values.only : undefined
const selected = SCENARIOS.filter((s) => only === undefined || only.includes(s.name))
const timeout = quick ? 20_000 : 120_000

function fmt(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2)
}

const rows: string[][] = []
let failed = false
for (const scenario of selected) {
  const runs = { baseline: [] as number[], ours: [] as number[] }
  try {
    // An unrecorded warm-up lets both halves reach optimised code first.
    for (const side of ['baseline', 'ours'] as const) {
      await scenario[side]({ quick: true, signal: AbortSignal.timeout(timeout) })
    }
    for (let round = 0; round < rounds; round++) {
      const order =
        round % 2 === 0 ? (['baseline', 'ours'] as const) : (['ours', 'baseline'] as const)
      for (const side of order) {
        const m = await scenario[side]({ quick, signal: AbortSignal.timeout(timeout) })
        runs[side].push(m.value)
        console.error(
          `[deno ${scenario.name}] round ${round + 1}/${rounds} ${side.padEnd(8)} ${fmt(m.value).padStart(12)} ${scenario.unit}`,
        )
      }
    }
  } catch (error) {
    failed = true
    console.error(`[deno ${scenario.name}] FAILED: ${String(error)}`)
    continue
  }
  const base = median(runs.baseline)
  const ours = median(runs.ours)
  const ratio = ours / base
  rows.push([
    scenario.figure,
    scenario.unit,
    fmt(base),
    fmt(ours),
    ratio.toFixed(2),
    `>= ${scenario.target}`,
    ratio >= scenario.target ? 'PASS' : 'BELOW',
  ])
}

const header = ['figure (Deno)', 'unit', 'Deno raw', 'ours', 'ratio', 'target', 'result']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (cells: string[]) =>
  cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
console.log(
  `\n${[line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')}`,
)
console.log(
  `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}; medians of ${rounds} rounds; ratio = ours / Deno raw.`,
)
// A run that failed may have left a socket behind; don't wait for it.
;(globalThis as unknown as { Deno: { exit(code: number): never } }).Deno.exit(failed ? 1 : 0)
