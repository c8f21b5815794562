/**
 * End to end: the unmodified `mysql2` driver (node:net inside the worker,
 * under the egress policy) in a worker run by `sockworker serve`, against a
 * real MariaDB. The server and `serve` start once; the tests run in order,
 * and the last one kills the server during a query.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type MariadbServer, startMariadb } from '../servers/mariadb.ts'
import { driverFixture, getJson, httpWorkerToml } from './drivers/harness.ts'
import { jsonLog, type Served, serveProject } from './support/harness.ts'

describe('mysql2 inside a worker', { concurrency: false }, () => {
  let server: MariadbServer
  let served: Served
  let port = 0

  before(async () => {
    server = await startMariadb()
    const { user, password, host, database } = server
    const url = `mysql://${user}:${password}@${host}:${server.port}/${database}`
    const toml =
      jsonLog +
      httpWorkerToml({
        name: 'mysql',
        script: driverFixture('mysql.ts'),
        vars: { MYSQL_URL: url },
        allow: [`127.0.0.1:${server.port}`],
      })
    served = await serveProject({ 'sockworker.toml': toml }, 1)
    ;[port = 0] = served.ports
  })

  after(async () => {
    await served?.[Symbol.asyncDispose]()
    await server?.stop()
  })

  test('a parameterised query, on one pooled connection across requests', async () => {
    const ids = new Set()
    for (let n = 1; n <= 3; n++) {
      const { status, body } = await getJson(port, `/query?n=${n}`)
      assert.equal(status, 200, JSON.stringify(body))
      assert.equal(Number(body['n']), n + 1)
      ids.add(body['id'])
    }
    assert.equal(ids.size, 1, `one connection served every request: ${[...ids]}`)
    const sessions = await server.admin(
      `SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '${server.user}'`,
    )
    assert.equal(sessions.trim(), '1')
  })

  test('the server goes away mid-query: the driver gets an error, not a hang', async (t) => {
    const from = served.logs().length
    const slept = getJson(port, '/sleep?seconds=30')
    await waitForSleeper(server)
    const killed = performance.now()
    await server.stop({ force: true })
    const { status, body } = await slept
    const elapsed = performance.now() - killed
    t.diagnostic(`${JSON.stringify(body)} after ${Math.round(elapsed)} ms`)
    assert.ok(elapsed < 5000, `the error arrived ${Math.round(elapsed)} ms after the kill`)
    assert.equal(status, 500)
    // FIN or RST from the killed server's kernel, depending on timing.
    assert.ok(
      ['PROTOCOL_CONNECTION_LOST', 'ECONNRESET'].includes(String(body['code'])),
      JSON.stringify(body),
    )
    // The pool opens a new connection, which fails at once: the replica is alive.
    const next = await getJson(port, '/query?n=1', 5000)
    assert.equal(next.status, 500)
    assert.equal(next.body['code'], 'ECONNREFUSED', JSON.stringify(next.body))
    const restarts = served
      .logs()
      .slice(from)
      .filter((e) => e.msg === 'replica started')
    assert.deepEqual(restarts, [], 'the replica did not crash')
  })
})

/** Waits (bounded) until a session is inside SLEEP() on `server`. */
async function waitForSleeper(server: MariadbServer): Promise<void> {
  const sql = `SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP%'`
  const deadline = Date.now() + 10_000
  while (Number((await server.admin(sql)).trim()) < 1) {
    if (Date.now() > deadline) throw new Error('No query reached SLEEP()')
  }
}
