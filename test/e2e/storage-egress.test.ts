/**
 * End to end: a storage binding's connections are the runtime's, not the
 * worker's. A worker under `sockworker serve` with an egress policy that
 * allows nothing (`allow = []`) uses its Redis and PostgreSQL bindings
 * (the password from a secret file), while its own connections to the very
 * same addresses are denied, and so is a binding it opens itself with the
 * runtime's own module.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type PgServer, startPostgres } from '../servers/postgres.ts'
import { type RedisServer, startRedis } from '../servers/redis.ts'
import { openClient } from './support/clients.ts'
import { fixture, jsonLog, type Served, serveProject } from './support/harness.ts'

const bindingsModule = fileURLToPath(
  new URL('../../packages/sockworker/src/storage/bindings.ts', import.meta.url),
)

async function ask(port: number, line: string): Promise<string> {
  await using client = await openClient(port)
  client.send(`${line}\n`)
  const [reply = ''] = await client.until(/^.*\n/, 10_000)
  return reply.trim()
}

describe('storage bindings under an egress policy that allows nothing', () => {
  let redis: RedisServer
  let pg: PgServer
  let served: Served
  let port = 0

  before(async () => {
    ;[redis, pg] = await Promise.all([startRedis(), startPostgres()])
    const pgUrl = `postgres://${pg.user}@${pg.host}:${pg.port}/${pg.database}`
    const toml = `${jsonLog}
[[workers]]
name = "locked"
script = ${JSON.stringify(fixture('storage.js'))}
vars = { BINDINGS_MODULE = ${JSON.stringify(bindingsModule)} }
secrets = { PG_PASSWORD = { file = "pg-password.txt" } }
[workers.egress]
allow = []
[workers.storage]
CACHE = { url = ${JSON.stringify(redis.url)} }
DB = { url = ${JSON.stringify(pgUrl)}, password_secret = "PG_PASSWORD" }
[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
`
    served = await serveProject(
      { 'sockworker.toml': toml, 'pg-password.txt': `${pg.password}\n` },
      1,
    )
    port = served.ports[0] ?? 0
  })

  after(async () => {
    await served?.[Symbol.asyncDispose]()
    await Promise.all([redis?.stop(), pg?.stop()])
  })

  test('the worker uses its Redis and PostgreSQL bindings', async () => {
    assert.equal(await ask(port, 'store CACHE'), 'store ok 1')
    assert.equal(await ask(port, 'store CACHE'), 'store ok 2')
    assert.equal(await ask(port, 'store DB'), 'store ok 1')
  })

  test('its own connections to the same addresses are denied', async () => {
    for (const server of [redis, pg]) {
      assert.match(
        await ask(port, `net ${server.host} ${server.port}`),
        /^net error ERR_EGRESS_DENIED /,
      )
      assert.match(
        await ask(port, `cf ${server.host} ${server.port}`),
        /^cf error ERR_EGRESS_DENIED /,
      )
    }
    const denials = served.logs().filter((entry) => entry.msg === 'egress denied')
    assert.ok(denials.length >= 4, JSON.stringify(denials))
  })

  test("a binding the worker opens itself, with the runtime's module, is denied too", async () => {
    assert.match(
      await ask(port, `own ${redis.url}`),
      /^own error ERR_STORAGE_UNAVAILABLE ERR_EGRESS_DENIED \(Storage at redis:\/\/127\.0\.0\.1:\d+ is unavailable: .*127\.0\.0\.1/,
    )
  })
})
