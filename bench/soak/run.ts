/**
 * `npm run bench:soak`: 10,000 concurrent connections held on the echo
 * worker under `sockworker serve` (2 replicas) for 10 minutes, each sending
 * a 16-byte ping every 5 s (staggered) and timing its echo. It prints a
 * progress line every 30 s and, at the end, the resident memory of
 * supervisor + replicas once every connection was open, after the first
 * minute, at the end (is it flat within 10%?) and its range over the second
 * half, the failures, and the latency percentiles.
 * Loopback only; not a test, and not in CI.
 *
 * @example
 * npm run bench:soak
 * npm run bench:soak -- --duration 90s --connections 2000
 */
import { connect, type Socket as NetSocket } from 'node:net'
import { parseArgs } from 'node:util'
import { serveEcho } from '../overload/serve.ts'

const PING = Buffer.alloc(16, 0x70)
/** A ping with no echo after this long is a failure. */
const TIMEOUT_MS = 5000
/** When the "warm" RSS sample is taken. */
const WARM_MS = 60_000
/** Connections opened per batch while ramping up. */
const OPEN_BATCH = 100

interface Conn {
  socket: NetSocket
  /** When the outstanding ping was sent; undefined when none is. */
  sentAt: number | undefined
  got: number
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10m' },
    connections: { type: 'string', default: '10000' },
    interval: { type: 'string', default: '5s' },
    progress: { type: 'string', default: '30s' },
  },
})
const durationMs = parseDuration(values.duration, '--duration')
const intervalMs = parseDuration(values.interval, '--interval')
const progressMs = parseDuration(values.progress, '--progress')
const count = Number(values.connections)
if (!Number.isInteger(count) || count < 1) {
  console.error(`--connections "${values.connections}": expected a whole number, 1 or more`)
  process.exit(64)
}

await using served = await serveEcho({
  listeners: ['type = "tcp"'],
  // 10,000 over 2 replicas is ~5,000 each, but the kernel need not split evenly.
  limits: { max_connections: count + 1000 },
})
const [port = 0] = served.ports
const rssIdle = await served.rssMb()
const conns: Conn[] = []
const rtts: number[] = []
let windowRtts: number[] = []
let failures = 0
let windowFailures = 0
let stopping = false
const reasons = new Map<string, number>()
const fail = (reason: string) => {
  failures++
  windowFailures++
  reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
}

function open(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true })
    const conn: Conn = { socket, sentAt: undefined, got: 0 }
    socket.once('connect', () => resolve(conn))
    socket.once('error', reject)
    socket.on('data', (chunk: Buffer) => {
      conn.got += chunk.byteLength
      if (conn.sentAt !== undefined && conn.got >= PING.byteLength) {
        const rtt = performance.now() - conn.sentAt
        rtts.push(rtt)
        windowRtts.push(rtt)
        conn.sentAt = undefined
        conn.got = 0
      }
    })
  })
}

console.log(
  `soak: ${count} connections, a ping every ${intervalMs} ms each, for ${durationMs / 1000} s`,
)
const rampStarted = performance.now()
for (let i = 0; i < count; i += OPEN_BATCH) {
  const batch = Array.from({ length: Math.min(OPEN_BATCH, count - i) }, open)
  for (const result of await Promise.allSettled(batch)) {
    if (result.status === 'fulfilled') conns.push(result.value)
    else fail(`connect: ${(result.reason as Error).message}`)
  }
}
for (const conn of conns) {
  conn.socket.on('error', () => {})
  conn.socket.once('close', () => {
    if (!stopping) fail('closed by the server')
  })
}
console.log(
  `  ${conns.length} open in ${((performance.now() - rampStarted) / 1000).toFixed(1)} s; RSS idle ${rssIdle.toFixed(0)} MiB`,
)
const rssStart = await served.rssMb()

// Each 100 ms tick pings its share of the connections, so each one pings every interval.
const ticks = Math.max(1, Math.round(intervalMs / 100))
let turn = 0
const pinger = setInterval(() => {
  const now = performance.now()
  for (let i = turn; i < conns.length; i += ticks) {
    const conn = conns[i]
    if (conn === undefined || conn.socket.destroyed) continue
    if (conn.sentAt !== undefined) {
      if (now - conn.sentAt < TIMEOUT_MS) continue
      fail('no echo within 5 s')
    }
    conn.sentAt = now
    conn.got = 0
    conn.socket.write(PING)
  }
  turn = (turn + 1) % ticks
}, 100)

const started = performance.now()
let rssLast = rssStart
/** RSS after the first minute: heaps and JIT code grow for a while after the ramp. */
let rssWarm: number | undefined
/** RSS samples of the second half of the run: the steady state, after warm-up and the first big collections. */
const rssLate: number[] = []
const reporter = setInterval(async () => {
  rssLast = await served.rssMb()
  if (rssWarm === undefined && performance.now() - started >= WARM_MS) rssWarm = rssLast
  if (performance.now() - started >= durationMs / 2) rssLate.push(rssLast)
  const sorted = windowRtts.sort((a, b) => a - b)
  const open = conns.filter((conn) => !conn.socket.destroyed).length
  console.log(
    `  ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s: ${open} open, ` +
      `${sorted.length} pings, p50 ${percentile(sorted, 0.5).toFixed(2)} ms, ` +
      `p99 ${percentile(sorted, 0.99).toFixed(2)} ms, ${windowFailures} failures, RSS ${rssLast.toFixed(0)} MiB`,
  )
  windowRtts = []
  windowFailures = 0
}, progressMs)

await new Promise((resolve) => setTimeout(resolve, durationMs))
clearInterval(pinger)
clearInterval(reporter)
const rssEnd = await served.rssMb()
const figures = await served.metrics()
stopping = true
for (const conn of conns) conn.socket.destroy()

const sorted = rtts.sort((a, b) => a - b)
const change = (from: number) => {
  const percent = ((rssEnd - from) / from) * 100
  const flat = Math.abs(percent) <= 10 ? 'flat within 10%' : 'NOT flat within 10%'
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)}% (${flat})`
}
const warm = rssWarm === undefined ? '' : `, after 1 min ${rssWarm.toFixed(0)}`
rssLate.push(rssEnd)
const lateLow = Math.min(...rssLate)
const lateHigh = Math.max(...rssLate)
const lateSpread = ((lateHigh - lateLow) / lateLow) * 100
console.log(`
connections   ${conns.length} of ${count} (server counts ${figures['connections_active']} active at the end)
pings         ${sorted.length}
failures      ${failures}${reasons.size > 0 ? ` (${[...reasons].map(([r, n]) => `${r}: ${n}`).join(', ')})` : ''}
latency       p50 ${percentile(sorted, 0.5).toFixed(2)} ms, p99 ${percentile(sorted, 0.99).toFixed(2)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(2)} ms
RSS (MiB)     idle ${rssIdle.toFixed(0)}, start ${rssStart.toFixed(0)} (all open)${warm}, end ${rssEnd.toFixed(0)}
RSS change    start → end ${change(rssStart)}${rssWarm === undefined ? '' : `; after 1 min → end ${change(rssWarm)}`}
RSS 2nd half  ${lateLow.toFixed(0)}–${lateHigh.toFixed(0)} MiB over ${rssLate.length} samples (spread ${lateSpread.toFixed(1)}%)
refused       ${figures['connections_refused_total'] ?? 0} by max_connections`)

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  return values[Math.min(values.length - 1, Math.floor(p * values.length))] ?? Number.NaN
}

function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text)
  if (match === null) {
    console.error(`${flag} "${text}": expected a duration such as 90s, 10m or 500ms`)
    process.exit(64)
  }
  const unit = match[2] ?? 's'
  return Number(match[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000)
}
