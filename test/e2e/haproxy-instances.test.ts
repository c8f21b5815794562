/**
 * End to end: three `sockworker serve` instances (standing in for three
 * machines) behind a real HAProxy, which sends PROXY protocol v2 and checks
 * each instance's `/healthz`. Under steady load of short connections:
 * - workers see the real client address, not HAProxy's;
 * - `kill -9` of one instance keeps the service up: HAProxy retries refused
 *   connects elsewhere and marks the instance down; the test reports how
 *   many requests failed and for how long;
 * - SIGTERM of another drains it without failing a single request:
 *   `/healthz` says `draining` while its listener still accepts for
 *   `[drain] delay_ms`, HAProxy takes it out, then it finishes what it has.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { startHaproxy } from '../helpers/haproxy.ts'
import { freePort } from '../helpers/ports.ts'
import { within } from '../helpers/timers.ts'
import { exchange } from './cli.ts'
import { Progress, runLoad } from './support/clients.ts'
import { fixture, type Served, serveProject } from './support/harness.ts'

/** Not 127.0.0.1, HAProxy's own source, so a match cannot be an accident. */
const CLIENT = '127.0.0.2'
const NAMES = ['a', 'b', 'c'] as const
/** How long a draining instance keeps accepting; well above HAProxy's inter × fall below. */
const DRAIN_DELAY_MS = 2000
const REPLY = /^([abc]) 127\.0\.0\.1:\d+\n$/

function instanceToml(name: string): string {
  return `[log]
format = "json"
[metrics]
listen = "127.0.0.1:0"
[drain]
delay_ms = ${DRAIN_DELAY_MS}
[[workers]]
name = "whoami"
script = ${JSON.stringify(fixture('whoami.js'))}
vars = { NAME = "${name}" }
[workers.limits]
drain_timeout_ms = 5000
[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
proxy_protocol = "v2"
allow_half_open = true
`
}

/** Round robin over the instances; health checks on each metrics port; refused connects go elsewhere. */
function haproxyConfig(front: number, instances: Served[]): string {
  const servers = instances.map((served, i) => {
    const metrics = Number(/:(\d+)\/metrics$/.exec(served.metricsUrl ?? '')?.[1])
    return `  server ${NAMES[i]} 127.0.0.1:${served.ports[0]} send-proxy-v2 check port ${metrics}`
  })
  return `global
  nbthread 1
  log stderr format raw local0 info
defaults
  mode tcp
  log global
  option tcplog
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  timeout check 2s
  retries 3
  option redispatch 1
frontend fe
  bind 127.0.0.1:${front}
  default_backend be
backend be
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
  default-server inter 100ms fall 2 rise 2
${servers.join('\n')}
`
}

/** A steady load through `port`; every result is kept with its instance and time. */
function steadyLoad(port: number) {
  const stop = new AbortController()
  const progress = new Progress()
  const results: Array<{ name: string; ok: boolean; endedAt: number; reply: string }> = []
  const done = runLoad({
    port,
    concurrency: 4,
    payload: 'hi\n',
    accept: (reply) => REPLY.test(reply),
    signal: stop.signal,
    onResult: ({ reply, ok }) => {
      results.push({ name: REPLY.exec(reply)?.[1] ?? '', ok, endedAt: performance.now(), reply })
      progress.tick()
    },
  })
  return {
    progress,
    results,
    async stop() {
      stop.abort()
      return within(done, 15_000, 'the load to stop')
    },
  }
}

assert.equal(spawnSync('haproxy', ['-v']).status, 0, 'haproxy is not installed: run npm run setup')
describe('sockworker serve instances behind HAProxy', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-instances-'))
  // One after another: on a busy machine three cold starts at once can
  // outlast the harness's ready deadline.
  const instances: Served[] = []
  after(async () => {
    await Promise.all(instances.map((served) => served[Symbol.asyncDispose]()))
    await rm(dir, { recursive: true, force: true })
  })
  for (const name of NAMES) {
    instances.push(await serveProject({ 'sockworker.toml': instanceToml(name) }, 1))
  }
  const front = await freePort()
  const haproxy = await startHaproxy(dir, haproxyConfig(front, instances), [front])
  const [a, b] = instances
  assert.ok(a !== undefined && b !== undefined)

  test('every instance serves, and sees the real client address from PROXY v2', async () => {
    const seen = new Set<string>()
    for (let i = 0; seen.size < NAMES.length; i++) {
      assert.ok(i < 60, `only ${[...seen]} answered after 60 connections\n${haproxy.output}`)
      // Fresh ports each time; the worker must report this client's own.
      // A payload, not a bare half-close: HAProxy drops a connect whose client
      // has already closed without sending anything (its log says CC).
      const reply = await exchange(front, 'hi\n', { localAddress: CLIENT })
      const match = /^([abc]) (\S+):(\d+)\n$/.exec(reply)
      assert.ok(match, `unexpected reply ${JSON.stringify(reply)}`)
      assert.equal(match[2], CLIENT)
      seen.add(match[1] ?? '')
    }
  })

  test('kill -9 of one instance under load: HAProxy routes around it', async (t) => {
    const load = steadyLoad(front)
    await load.progress.after(60)
    const killedAt = performance.now()
    a.cli.child.kill('SIGKILL')
    await within(a.cli.exited, 5000, 'instance a to die')
    await load.progress.after(200, 30_000)
    const results = await load.stop()
    const failed = load.results.filter((r) => !r.ok)
    const lastFailure = Math.max(killedAt, ...failed.map((r) => r.endedAt))
    t.diagnostic(
      `${results.ok} ok, ${failed.length} failed (${[...new Set(results.failures)].join(', ') || 'none'}); ` +
        `failures within ${Math.round(lastFailure - killedAt)} ms of the kill`,
    )
    // What was in flight on `a`, or queued in its accept backlog, fails; the
    // health check then takes `a` out, and refused connects are retried on
    // another instance. So failures are bounded in time, not in number.
    assert.ok(
      lastFailure - killedAt < 3000,
      `failures went on ${Math.round(lastFailure - killedAt)} ms after the kill: ${results.failures}\n${haproxy.output}`,
    )
    const settled = load.results.slice(-100)
    assert.ok(
      settled.every((r) => r.ok && r.name !== 'a'),
      'the last 100 all succeed, none on a',
    )
    assert.ok(settled.some((r) => r.name === 'b') && settled.some((r) => r.name === 'c'))
  })

  test('SIGTERM of one instance under load: a graceful drain fails no request', async (t) => {
    const load = steadyLoad(front)
    await load.progress.after(60)
    const drainedAt = performance.now()
    b.cli.child.kill('SIGTERM')
    assert.equal(await within(b.cli.exited, 15_000, 'instance b to drain'), 0)
    const exitedAt = performance.now()
    await load.progress.after(100, 30_000)
    const results = await load.stop()
    t.diagnostic(
      `${results.ok} ok, ${results.failures.length} failed; instance b exited ` +
        `${Math.round(exitedAt - drainedAt)} ms after SIGTERM`,
    )
    const offsets = load.results.filter((r) => !r.ok).map((r) => Math.round(r.endedAt - drainedAt))
    assert.deepEqual(
      results.failures,
      [],
      `failed at ${offsets} ms after SIGTERM\n${haproxy.output}`,
    )
    const onB = load.results.filter((r) => r.name === 'b')
    assert.ok(onB.length > 0, 'b served part of this load before it drained')
    assert.ok(load.results.slice(-100).every((r) => r.name === 'c'))
    assert.ok(b.logs().some((entry) => entry.msg === 'stopped'))
  })
})
