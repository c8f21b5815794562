/**
 * End to end: the unmodified `pg` driver inside workers run by `sockworker
 * serve`, against real PostgreSQL servers (one plain, one with ssl=on and a
 * certificate from the test CA). One fixture runs as four workers:
 * - workerd: the default compatibility, where pg sees "Cloudflare-Workers"
 *   and takes its pg-cloudflare path over `cloudflare:sockets`;
 * - node: `compatibility = "node"`, where pg uses node:net and node:tls;
 * - denied and denied-node: both paths under the serve default egress
 *   (allow public), which must stop them.
 * The servers and `serve` start once; the tests run in order, and the last
 * one kills the plain server.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { makeCerts } from '../helpers/certs.ts'
import { type PgServer, startPostgres } from '../servers/postgres.ts'
import { driverFixture, getJson, httpWorkerToml } from './drivers/harness.ts'
import { jsonLog, type Served, serveProject } from './support/harness.ts'

const script = driverFixture('pg.ts')
const modes = ['workerd', 'node'] as const

describe('pg inside a worker', { concurrency: false }, () => {
  let plain: PgServer
  let ssl: PgServer
  let served: Served
  const ports = { workerd: 0, node: 0, denied: 0, deniedNode: 0 }

  before(async () => {
    const certs = await makeCerts()
    ;[plain, ssl] = await Promise.all([startPostgres(), startPostgres({ ssl: certs.server })])
    const vars = (app: string) => ({
      DATABASE_URL: plain.connectionString,
      SSL_DATABASE_URL: ssl.connectionString,
      APP: app,
    })
    const allow = [`127.0.0.1:${plain.port}`, `127.0.0.1:${ssl.port}`]
    const secretFiles = { PG_CA: certs.files.ca }
    const toml =
      jsonLog +
      httpWorkerToml({ name: 'workerd', script, vars: vars('workerd'), secretFiles, allow }) +
      httpWorkerToml({
        name: 'node',
        script,
        compatibility: 'node',
        vars: vars('node'),
        secretFiles,
        allow,
      }) +
      httpWorkerToml({ name: 'denied', script, vars: vars('denied') }) +
      httpWorkerToml({ name: 'denied-node', script, compatibility: 'node', vars: vars('denied') })
    served = await serveProject({ 'sockworker.toml': toml }, 4)
    ;[ports.workerd = 0, ports.node = 0, ports.denied = 0, ports.deniedNode = 0] = served.ports
  })

  after(async () => {
    await served?.[Symbol.asyncDispose]()
    await Promise.all([plain?.stop(), ssl?.stop()])
  })

  /** This worker's backends on `server`, as PostgreSQL counts them. */
  async function backends(server: PgServer, app: string): Promise<number> {
    const sql = `SELECT count(*) FROM pg_stat_activity WHERE application_name = '${app}'`
    return Number((await server.admin(sql)).trim())
  }

  for (const mode of modes) {
    test(`${mode}: a parameterised query, on one pooled connection across requests`, async () => {
      const replies = []
      for (let n = 1; n <= 4; n++) {
        const { status, body } = await getJson(ports[mode], `/query?n=${n}`)
        assert.equal(status, 200, JSON.stringify(body))
        assert.equal(body['n'], n + 1)
        assert.equal(body['ssl'], false)
        replies.push(body)
      }
      const pids = new Set(replies.map((body) => body['pid']))
      assert.equal(pids.size, 1, `one backend served every request: ${[...pids]}`)
      assert.equal(await backends(plain, mode), 1)
    })
  }

  test('workerd: pg takes its Workers path (pg-cloudflare over cloudflare:sockets)', async () => {
    const { body } = await getJson(ports.workerd, '/query?n=1')
    assert.equal(body['ua'], 'Cloudflare-Workers')
    assert.equal(body['stream'], 'CloudflareSocket')
  })

  test('node: pg takes its Node.js path (node:net)', async () => {
    const { body } = await getJson(ports.node, '/query?n=1')
    assert.match(String(body['ua']), /^Node\.js\//)
    assert.equal(body['stream'], 'Socket')
  })

  test('node: ssl with the CA passed to the driver (node:tls upgrade of the socket)', async () => {
    for (let n = 1; n <= 2; n++) {
      const { status, body } = await getJson(ports.node, `/query?db=ssl&n=${n}`)
      assert.equal(status, 200, JSON.stringify(body))
      assert.deepEqual([body['ssl'], body['n'], body['stream']], [true, n + 1, 'TLSSocket'])
    }
    assert.equal(await backends(ssl, 'node'), 1)
  })

  // Regression: pg-cloudflare calls `socket.startTls(options)` with pg's
  // node:tls options ({ socket, host, ca, servername, ... }), so the CA sits
  // at the top level; startTls() once read only `tls.ca`, dropped it, and the
  // handshake failed with UNABLE_TO_VERIFY_LEAF_SIGNATURE.
  test('workerd: ssl with the CA passed to the driver (StartTLS on cloudflare:sockets)', async () => {
    const { status, body } = await getJson(ports.workerd, '/query?db=ssl&n=1')
    assert.equal(status, 200, JSON.stringify(body))
    assert.deepEqual([body['ssl'], body['stream']], [true, 'CloudflareSocket'])
  })

  for (const mode of modes) {
    test(`${mode}: a wrong password gives the driver's own error`, async () => {
      const { status, body } = await getJson(ports[mode], '/login?password=wrong')
      assert.equal(status, 500)
      assert.equal(body['error'], `password authentication failed for user "${plain.user}"`)
      assert.equal(body['code'], '28P01')
      const right = await getJson(ports[mode], `/login?password=${plain.password}`)
      assert.deepEqual(right.body, { user: plain.user })
    })
  }

  test('the serve default egress policy (allow public) stops the driver on both paths', async (t) => {
    for (const [worker, port] of [
      ['denied', ports.denied],
      ['denied-node', ports.deniedNode],
    ] as const) {
      const from = served.logs().length
      const { status, body } = await getJson(port, '/query?n=1')
      t.diagnostic(`${worker}: ${JSON.stringify(body)}`)
      assert.equal(status, 500)
      assert.equal(body['code'], 'ERR_EGRESS_DENIED')
      assert.match(String(body['error']), /127\.0\.0\.1/)
      const denial = await served.waitForLog((e) => e.msg === 'egress denied', { from })
      assert.equal(denial.worker, worker)
    }
    assert.equal(await backends(plain, 'denied'), 0)
  })

  test('the server goes away mid-query: both paths get an error, not a hang', async (t) => {
    const from = served.logs().length
    const inFlight = modes.map((mode) => getJson(ports[mode], '/sleep?seconds=30'))
    await waitForSleepers(plain, 2)
    const killed = performance.now()
    await plain.stop({ force: true })
    const replies = await Promise.all(inFlight)
    const elapsed = performance.now() - killed
    assert.ok(elapsed < 5000, `errors arrived ${Math.round(elapsed)} ms after the kill`)
    for (const [i, { status, body }] of replies.entries()) {
      t.diagnostic(`${modes[i]}: ${JSON.stringify(body)} after ${Math.round(elapsed)} ms`)
      assert.equal(status, 500)
      // The killed server's kernel closes the connection with FIN or RST,
      // depending on timing: pg reports the first as a termination, the
      // second as the reset itself. Either is an error, which is the point.
      assert.match(
        String(body['error']),
        /^Connection terminated unexpectedly$|connection reset by peer|ECONNRESET/,
      )
    }
    // The pool hands out a new connection, which fails at once: the replica is alive.
    for (const mode of modes) {
      const { status, body } = await getJson(ports[mode], '/query?n=1', 5000)
      assert.equal(status, 500)
      assert.equal(body['code'], 'ECONNREFUSED', JSON.stringify(body))
    }
    const restarts = served
      .logs()
      .slice(from)
      .filter((e) => e.msg === 'replica started')
    assert.deepEqual(restarts, [], 'no replica crashed')
  })
})

/** Waits (bounded) until `count` sessions are inside pg_sleep on `server`. */
async function waitForSleepers(server: PgServer, count: number): Promise<void> {
  const sql = `SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'`
  const deadline = Date.now() + 10_000
  while (Number((await server.admin(sql)).trim()) < count) {
    if (Date.now() > deadline) throw new Error(`Fewer than ${count} queries reached pg_sleep`)
  }
}
