/**
 * End to end: `sockworker dev --storage NAME=redis://…` and
 * `NAME=postgres://…`. examples/kv (a Redis-protocol server on env.STORE)
 * runs on each server backend, driven by the real redis-cli, and its data
 * lands in the real server; a bad URL is refused with a usage message.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type PgServer, startPostgres } from '../servers/postgres.ts'
import { type RedisServer, startRedis } from '../servers/redis.ts'
import { readyPorts, runCli, startCli } from './cli.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  })
  return stdout.trim()
}

describe('sockworker dev --storage on a server', () => {
  let redis: RedisServer
  let pg: PgServer
  before(async () => {
    ;[redis, pg] = await Promise.all([startRedis(), startPostgres()])
  })
  after(() => Promise.all([redis?.stop(), pg?.stop()]))

  for (const backend of ['redis', 'postgres'] as const) {
    test(`examples/kv keeps its keys in ${backend}`, async () => {
      const url = backend === 'redis' ? redis.url : pg.connectionString
      const args = ['dev', 'examples/kv/worker.ts', '--tcp', '0', '--storage', `STORE=${url}`]
      await using cli = startCli(args, { cwd: root })
      const { tcp: port = 0 } = await readyPorts(cli, ['tcp'])
      assert.equal(await redisCli(port, 'SET', 'greeting', 'hello'), 'OK')
      assert.equal(await redisCli(port, 'INCR', 'hits'), '1')
      assert.equal(await redisCli(port, 'INCR', 'hits'), '2')
      assert.equal(await redisCli(port, 'GET', 'greeting'), 'hello')
      if (backend === 'redis') {
        const keys = await redisCli(redis.port, 'KEYS', '{sockworker}:v:*')
        assert.deepEqual(keys.split('\n').toSorted(), [
          '{sockworker}:v:greeting',
          '{sockworker}:v:hits',
        ])
      } else {
        const rows = await pg.admin(
          `SELECT key, convert_from(value, 'UTF8') FROM sockworker_kv ORDER BY key`,
          pg.database,
        )
        assert.equal(rows.trim(), 'greeting|hello\nhits|2')
      }
    })
  }

  test('refuses a URL of another scheme, without showing its password', async () => {
    const result = await runCli(
      ['dev', 'examples/kv/worker.ts', '--tcp', '0', '--storage', 'STORE=mysql://u:hunter2@db/x'],
      { cwd: root },
    )
    assert.notEqual(result.code, 0)
    assert.match(
      result.stderr,
      /--storage "STORE=mysql:\/\/u:\*\*\*@db\/x": expected a redis:\/\/ or postgres:\/\/ URL/,
    )
    assert.ok(!`${result.stdout}${result.stderr}`.includes('hunter2'))
  })
})
