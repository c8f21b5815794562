/**
 * End to end: the unmodified `pg` driver in a worker under `sockworker
 * serve`, reaching a real PostgreSQL through `sockworker tunnel serve`. The
 * worker's config routes the database's address through the tunnel
 * (`[[workers.tunnels]]`); pg takes its Workers path (pg-cloudflare over
 * `cloudflare:sockets`), so it never knows. The daemon's log proves the
 * bytes went through it.
 * - a parameterised query, on a pooled connection reused across requests;
 * - a wrong password gives the driver's own error through the tunnel;
 * - the tunnel dies mid-query: the driver gets an error, not a hang; once the
 *   tunnel is back on its port, the pool reconnects.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type PgServer, startPostgres } from '../servers/postgres.ts'
import { type Cli, readyPorts, startCli, tempProject } from './cli.ts'
import { driverFixture, getJson, httpWorkerToml } from './drivers/harness.ts'
import { jsonLog, type Served, serveProject } from './support/harness.ts'

const token = 'pg-tunnel.secret'

describe('pg through the tunnel', { concurrency: false }, () => {
  let pg: PgServer
  let files: Awaited<ReturnType<typeof tempProject>>
  let tunnel: Cli
  let tunnelPort = 0
  let served: Served
  let port = 0

  const startTunnel = async (listenPort: number) => {
    tunnel = startCli([
      ...['tunnel', 'serve', '--listen', `127.0.0.1:${listenPort}`],
      ...['--to', `127.0.0.1:${pg.port}`, '--token-file', files.path('token')],
    ])
    ;({ tunnel: tunnelPort = 0 } = await readyPorts(tunnel, ['tunnel']))
  }

  before(async () => {
    ;[pg, files] = await Promise.all([startPostgres(), tempProject({ token: `${token}\n` })])
    await startTunnel(0)
    const toml =
      jsonLog +
      httpWorkerToml({
        name: 'tunnelled',
        script: driverFixture('pg.ts'),
        vars: { DATABASE_URL: pg.connectionString, APP: 'tunnelled' },
        // The worker's own connection is to the tunnel, on loopback here.
        allow: ['loopback'],
      }) +
      '[[workers.tunnels]]\n' +
      `target = "127.0.0.1:${pg.port}"\n` +
      `url = "ws://127.0.0.1:${tunnelPort}"\n` +
      `token_file = ${JSON.stringify(files.path('token'))}\n`
    served = await serveProject({ 'sockworker.toml': toml }, 1)
    ;[port = 0] = served.ports
  })

  after(async () => {
    await served?.[Symbol.asyncDispose]()
    await tunnel?.stop()
    await pg?.stop({ force: true })
    await files?.[Symbol.asyncDispose]()
  })

  test('a parameterised query goes through the tunnel, on one pooled connection', async () => {
    const pids = new Set()
    for (let n = 1; n <= 3; n++) {
      const { status, body } = await getJson(port, `/query?n=${n}`)
      assert.equal(status, 200, JSON.stringify(body))
      assert.deepEqual([body['n'], body['stream']], [n + 1, 'CloudflareSocket'])
      pids.add(body['pid'])
    }
    assert.equal(pids.size, 1)
    const opened = tunnel.output.match(
      new RegExp(`^open \\d+ .* -> 127\\.0\\.0\\.1:${pg.port}$`, 'gm'),
    )
    assert.equal(opened?.length, 1, tunnel.output)
  })

  test("a wrong password gives the driver's own error", async () => {
    const { status, body } = await getJson(port, '/login?password=wrong')
    assert.equal(status, 500)
    assert.equal(body['code'], '28P01')
    assert.equal(body['error'], `password authentication failed for user "${pg.user}"`)
    // The login's own connection went through the tunnel, and ended there.
    await tunnel.waitFor(/^close \d+ .*bytes out/m, 5000)
  })

  test('the tunnel dies mid-query: an error, not a hang; the pool reconnects once it is back', async (t) => {
    const before = await getJson(port, '/query?n=1')
    const sleeping = getJson(port, '/sleep?seconds=30')
    await waitForSleeper(pg)
    const killed = performance.now()
    tunnel.child.kill('SIGKILL')
    await tunnel.exited
    const { status, body } = await sleeping
    t.diagnostic(`mid-query: ${JSON.stringify(body)}`)
    assert.ok(performance.now() - killed < 5000, 'the error came at once')
    assert.equal(status, 500)
    assert.match(String(body['error']), /Connection terminated unexpectedly|tunnel/)

    await startTunnel(tunnelPort)
    const after = await getJson(port, '/query?n=5')
    assert.equal(after.status, 200, JSON.stringify(after.body))
    assert.equal(after.body['n'], 6)
    assert.notEqual(after.body['pid'], before.body['pid'], 'a new connection')
  })
})

/** Waits (bounded) until a session is inside pg_sleep. */
async function waitForSleeper(server: PgServer): Promise<void> {
  const sql = `SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'`
  const deadline = Date.now() + 10_000
  while (Number((await server.admin(sql)).trim()) < 1) {
    if (Date.now() > deadline) throw new Error('No query reached pg_sleep')
  }
}
