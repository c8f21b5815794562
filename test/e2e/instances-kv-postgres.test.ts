/**
 * End to end, across instances: examples/kv on two `sockworker serve`
 * instances (standing in for two machines) behind a real HAProxy, both on
 * one PostgreSQL storage binding (`[workers.storage] STORE = { url =
 * "postgres://…" }`). `redis-benchmark` runs INCR from many clients at once
 * through HAProxy and straight at each instance; the counter must come out
 * exact, since each INCR is a storage transaction serialised across
 * instances.
 */
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startHaproxy } from '../helpers/haproxy.ts'
import { freePort } from '../helpers/ports.ts'
import { startPostgres } from '../servers/postgres.ts'
import { serveProject } from './support/harness.ts'

const run = promisify(execFile)
const kv = fileURLToPath(new URL('../../examples/kv/worker.ts', import.meta.url))
const CLIENTS = 8
const PER_RUN = 1500

function instanceToml(url: string): string {
  return `[log]
format = "json"
[[workers]]
name = "kv"
script = ${JSON.stringify(kv)}
replicas = 2
# The binding's connections are the runtime's: no egress rule needed.
[workers.storage]
STORE = { url = ${JSON.stringify(url)} }
[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
proxy_protocol = "v2"
# The same worker without PROXY protocol, for clients straight at the instance.
[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
`
}

/** `redis-benchmark` INCR on one key from `CLIENTS` clients, `PER_RUN` requests. */
function incr(port: number) {
  return run(
    'redis-benchmark',
    ['-h', '127.0.0.1', '-p', String(port), '-c', String(CLIENTS), '-n', String(PER_RUN)].concat([
      '-t',
      'incr',
      '-q',
    ]),
    { timeout: 120_000 },
  )
}

assert.equal(spawnSync('haproxy', ['-v']).status, 0, 'haproxy is not installed: run npm run setup')
describe('examples/kv on two instances sharing PostgreSQL storage', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-kv-pg-'))
  after(() => rm(dir, { recursive: true, force: true }))
  test('INCR from many clients on both instances is exact', async (t) => {
    await using pg = await startPostgres()
    const toml = instanceToml(pg.connectionString)
    await using a = await serveProject({ 'sockworker.toml': toml }, 2)
    await using b = await serveProject({ 'sockworker.toml': toml }, 2)
    const front = await freePort()
    const haproxy = await startHaproxy(
      dir,
      `global
  nbthread 1
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:${front}
  default_backend be
backend be
  balance roundrobin
  server a 127.0.0.1:${a.ports[0]} send-proxy-v2
  server b 127.0.0.1:${b.ports[0]} send-proxy-v2
`,
      [front],
    )
    // Directly at each instance and through HAProxy, all at the same time.
    const runs = await Promise.all([incr(a.ports[1] ?? 0), incr(b.ports[1] ?? 0), incr(front)])
    const rates = runs.map(({ stdout }) => /INCR: ([\d.]+) requests per second/.exec(stdout)?.[1])
    t.diagnostic(`INCR requests/s, a direct, b direct, through HAProxy: ${rates.join(', ')}`)
    const { stdout } = await run('redis-cli', ['-p', String(front), 'GET', 'counter:__rand_int__'])
    assert.equal(stdout.trim(), String(3 * PER_RUN), haproxy.output)
    // Either instance reads the same value: the state is in PostgreSQL, not in a process.
    for (const port of [a.ports[1], b.ports[1]]) {
      const { stdout: direct } = await run('redis-cli', [
        '-p',
        String(port),
        'GET',
        'counter:__rand_int__',
      ])
      assert.equal(direct.trim(), String(3 * PER_RUN))
    }
  })
})
