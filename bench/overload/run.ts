/**
 * `npm run bench:overload`: can an attack starve the echo worker under
 * `sockworker serve`? Each scenario serves the echo example (2 replicas),
 * starts the well-behaved client, then runs the attack in its own process
 * for a while. It reports the client's round trips (p50, p99, failures),
 * the resident memory of supervisor + replicas (at the start, the peak
 * during the attack, and at the end once the attack has gone), and the
 * worker's overload metrics. Loopback only; not a test, and not in CI.
 *
 * @example
 * npm run bench:overload
 * npm run bench:overload -- --quick --only udp-flood
 * npm run bench:overload -- --only udp-flood --new-flows-per-second 100000
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { type AttackName, attacks } from './attack.ts'
import { type ProbeKind, probe } from './probe.ts'
import { benchTls, serveEcho } from './serve.ts'

interface Scenario {
  /** What the attack does, for the table. */
  what: string
  listener: () => string
  probe: ProbeKind
  seconds: { full: number; quick: number }
}

const scenarios: Record<AttackName, Scenario> = {
  slowloris: {
    what: '5,000 conns, 1 byte / 10 s each (quick: 500)',
    listener: () => 'type = "tcp"',
    probe: 'tcp',
    seconds: { full: 40, quick: 12 },
  },
  'tls-flood': {
    what: '64 handshake loops + 2,000 silent conns (quick: 16 + 200)',
    listener: () => `type = "tls"\n${benchTls()}`,
    probe: 'tls',
    seconds: { full: 30, quick: 12 },
  },
  'proxy-stall': {
    what: '5,000 conns, PROXY header never finished (quick: 500)',
    listener: () => 'type = "tcp"\nproxy_protocol = "v1"',
    probe: 'proxy',
    seconds: { full: 30, quick: 12 },
  },
  'udp-flood': {
    what: 'one datagram from each new source, 128 in flight (quick: 32)',
    listener: () =>
      newFlowsPerSecond === undefined
        ? 'type = "udp"'
        : `type = "udp"\nnew_flows_per_second = ${newFlowsPerSecond}`,
    probe: 'udp',
    seconds: { full: 30, quick: 10 },
  },
  'slow-reader': {
    what: '200 conns send 16 MiB, never read the echo (quick: 50 × 4 MiB)',
    listener: () => 'type = "tcp"',
    probe: 'tcp',
    seconds: { full: 30, quick: 10 },
  },
}

/** The overload figures, metric name → column. */
const METRICS = {
  connections_refused_total: 'refused',
  handshake_timeouts_total: 'hs t/o',
  header_timeouts_total: 'hdr t/o',
  udp_flows_dropped_total: 'udp dropped',
  udp_flows_rate_limited_total: 'udp rate-limited',
} as const

interface Row {
  name: string
  rtts: number
  failures: number
  p50: number
  p99: number
  rss: { start: number; peak: number; end: number }
  peakPending: number
  metrics: Record<string, number>
  attack: Record<string, number>
  reasons: string[]
  /** Datagrams the kernel dropped for full receive buffers during the run (host-wide). */
  rcvbufErrors: number
}

async function runScenario(name: AttackName, quick: boolean): Promise<Row> {
  const scenario = scenarios[name]
  await using served = await serveEcho({ listeners: [scenario.listener()] })
  const [port = 0] = served.ports
  const rssStart = await served.rssMb()
  let rssPeak = rssStart
  let peakPending = 0
  const sampler = setInterval(async () => {
    rssPeak = Math.max(rssPeak, await served.rssMb())
    const figures = await served.metrics().catch(() => ({}) as Record<string, number>)
    peakPending = Math.max(peakPending, figures['handshakes_pending'] ?? 0)
  }, 500)
  const rcvbufErrors = await udpReceiveBufferErrors()
  const stopProbe = new AbortController()
  const probing = probe(scenario.probe, port, stopProbe.signal)
  const attacker = spawn(
    process.execPath,
    [
      new URL('attack.ts', import.meta.url).pathname,
      name,
      String(port),
      ...(quick ? ['--quick'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let attackOutput = ''
  attacker.stdout.on('data', (chunk: Buffer) => {
    attackOutput += chunk
  })
  const attackExited = new Promise((resolve) => attacker.once('exit', resolve))
  await new Promise((resolve) =>
    setTimeout(resolve, scenario.seconds[quick ? 'quick' : 'full'] * 1000),
  )
  attacker.kill('SIGTERM')
  await attackExited
  stopProbe.abort()
  const measured = await probing
  // The attack's connections are gone with its process: give the server a
  // moment to notice and release them before the last sample.
  await new Promise((resolve) => setTimeout(resolve, 3000))
  clearInterval(sampler)
  const rssEnd = await served.rssMb()
  rssPeak = Math.max(rssPeak, rssEnd)
  const figures = await served.metrics()
  const sorted = [...measured.rtts].sort((a, b) => a - b)
  return {
    name,
    rtts: sorted.length,
    failures: measured.failures,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    rss: { start: rssStart, peak: rssPeak, end: rssEnd },
    peakPending,
    metrics: figures,
    attack: attackOutput.trim() ? (JSON.parse(attackOutput.trim()) as Record<string, number>) : {},
    reasons: measured.reasons,
    rcvbufErrors: (await udpReceiveBufferErrors()) - rcvbufErrors,
  }
}

/**
 * The kernel's count of UDP datagrams dropped because a socket's receive
 * buffer was full (`RcvbufErrors` in /proc/net/snmp, the whole host): the
 * datagrams a replica did not read in time, from every peer alike.
 */
async function udpReceiveBufferErrors(): Promise<number> {
  const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n')
  const [head, values] = lines.filter((line) => line.startsWith('Udp: '))
  const column = head?.split(' ').indexOf('RcvbufErrors') ?? -1
  return Number(values?.split(' ')[column] ?? Number.NaN)
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

function table(rows: Row[]): string {
  const head = [
    'scenario',
    'round trips',
    'failed',
    'p50 ms',
    'p99 ms',
    'RSS MiB start/peak/end',
    'pending peak',
    ...Object.values(METRICS),
  ]
  const body = rows.map((row) => [
    row.name,
    String(row.rtts),
    String(row.failures),
    row.p50.toFixed(2),
    row.p99.toFixed(2),
    `${row.rss.start.toFixed(0)} / ${row.rss.peak.toFixed(0)} / ${row.rss.end.toFixed(0)}`,
    String(row.peakPending),
    ...Object.keys(METRICS).map((key) => String(row.metrics[key] ?? 0)),
  ])
  const widths = head.map((cell, i) =>
    Math.max(cell.length, ...body.map((r) => (r[i] ?? '').length)),
  )
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    // The UDP listener's new_flows_per_second, to compare with its default.
    'new-flows-per-second': { type: 'string' },
  },
})
const newFlowsPerSecond = values['new-flows-per-second']
const only = values.only ?? []
for (const name of only) {
  if (!attacks.includes(name as AttackName)) {
    console.error(`--only "${name}": expected one of ${attacks.join(', ')}`)
    process.exit(64)
  }
}
const chosen = attacks.filter((name) => only.length === 0 || only.includes(name))
const rows: Row[] = []
for (const name of chosen) {
  const scenario = scenarios[name]
  const seconds = scenario.seconds[values.quick ? 'quick' : 'full']
  console.log(`${name}: ${scenario.what}, ${seconds} s ...`)
  const row = await runScenario(name, values.quick)
  console.log(`  attack did ${JSON.stringify(row.attack)}`)
  if (scenario.probe === 'udp') console.log(`  kernel RcvbufErrors +${row.rcvbufErrors}`)
  if (row.reasons.length > 0)
    console.log(`  client failures, first ones: ${row.reasons.join('; ')}`)
  rows.push(row)
}
console.log(`\n${table(rows)}`)
