/**
 * The database fixtures start real servers that real clients (psql,
 * redis-cli, mariadb) can use, with real authentication, and leave nothing
 * behind.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { describe, type TestContext, test } from 'node:test'
import { makeCerts } from '../helpers/certs.ts'
import { within } from '../helpers/timers.ts'
import { type MariadbServer, startMariadb } from './mariadb.ts'
import { type PgServer, startPostgres } from './postgres.ts'
import { cleanEnv, runTool } from './process.ts'
import { startRedis } from './redis.ts'
import { findBinary, postgresBinDirs } from './system.ts'

const psqlBin = findBinary({
  names: ['psql'],
  dirs: postgresBinDirs(),
  debianPackage: 'postgresql',
})

/** Runs `sql` with psql over TCP as the fixture's user; resolves with unaligned rows. */
function psql(pg: PgServer, sql: string, password = pg.password, extra = ''): Promise<string> {
  const conninfo = `host=${pg.host} port=${pg.port} user=${pg.user} dbname=${pg.database} ${extra}`
  return runTool(psqlBin, ['-X', '-A', '-t', '-d', conninfo, '-c', sql], {
    cwd: process.cwd(),
    env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
    timeout: 10_000,
  })
}

/** Runs `sql` with the mariadb client over TCP; resolves with tab-separated rows. */
function mariadb(db: MariadbServer, sql: string, user = db.user, password = db.password) {
  const client = findBinary({ names: ['mariadb', 'mysql'], debianPackage: 'mariadb-server' })
  const login = ['--no-defaults', '-h', db.host, '-P', String(db.port), '-u', user]
  return runTool(client, [...login, `--password=${password}`, '-N', '-B', '-e', sql, db.database], {
    cwd: process.cwd(),
    timeout: 10_000,
  })
}

async function timed<T>(t: TestContext, what: string, start: () => Promise<T>): Promise<T> {
  const began = performance.now()
  const result = await start()
  t.diagnostic(`${what} took ${Math.round(performance.now() - began)} ms`)
  return result
}

describe('startPostgres', () => {
  test('logs in with the password over TCP, refuses a wrong one, and cleans up', async (t) => {
    const pg = await timed(t, 'start', () => startPostgres())
    try {
      assert.equal(pg.host, '127.0.0.1')
      const row = await psql(pg, 'SELECT current_user, current_database(), inet_server_addr()')
      assert.equal(row.trim(), 'sockworker|sockworker|127.0.0.1')
      await assert.rejects(psql(pg, 'SELECT 1', 'wrong'), /password authentication failed/)
      const superuser = await psql(pg, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')
      assert.equal(superuser.trim(), 'f')
      assert.equal(
        pg.connectionString,
        `postgres://sockworker:sockworker-secret@127.0.0.1:${pg.port}/sockworker`,
      )
    } finally {
      await timed(t, 'stop', () => pg.stop())
    }
    assert.equal(existsSync(pg.dir), false)
    await pg.stop() // a second stop is harmless
  })

  test('two servers run at once on different ports', async () => {
    // allSettled, not all: if one start fails, the other server must still
    // be stopped, or it keeps the test file from exiting.
    const started = await Promise.allSettled([startPostgres(), startPostgres()])
    await using servers = new AsyncDisposableStack()
    for (const result of started) if (result.status === 'fulfilled') servers.use(result.value)
    const [a, b] = started.map((result) => {
      if (result.status === 'rejected') throw result.reason
      return result.value
    })
    const [first, second] = [a!, b!]
    assert.notEqual(first.port, second.port)
    assert.notEqual(first.dir, second.dir)
    await first.admin(`CREATE TABLE only_here (id int)`, 'sockworker')
    assert.equal((await psql(first, `SELECT to_regclass('only_here') IS NOT NULL`)).trim(), 't')
    assert.equal((await psql(second, `SELECT to_regclass('only_here') IS NOT NULL`)).trim(), 'f')
  })

  test('ssl=on serves the given certificate, which verifies against its CA', async (t) => {
    const certs = await makeCerts()
    await using pg = await timed(t, 'start with ssl', () => startPostgres({ ssl: certs.server }))
    assert.equal(pg.ssl, true)
    const tls = `sslmode=verify-full sslrootcert=${certs.files.ca}`
    const sql = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'
    assert.equal((await psql(pg, sql, pg.password, tls)).trim(), 't')
    // Plain connections stay allowed: the driver decides.
    assert.equal((await psql(pg, sql, pg.password, 'sslmode=disable')).trim(), 'f')
  })

  test('stop({ force: true }) ends a running query like a crash', async () => {
    const pg = await startPostgres()
    const conninfo = `host=${pg.host} port=${pg.port} user=${pg.user} dbname=${pg.database}`
    const client = spawn(psqlBin, ['-X', '-d', conninfo, '-c', 'SELECT pg_sleep(60)'], {
      env: cleanEnv({ PGPASSWORD: pg.password }),
      stdio: 'ignore',
    })
    const exited = once(client, 'exit')
    try {
      const running = `SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'`
      for (let tries = 0; (await pg.admin(running)).trim() !== '1'; tries++) {
        assert.ok(tries < 100, 'the query never showed up in pg_stat_activity')
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await pg.stop({ force: true })
      const [code] = await within(exited, 10_000, 'psql to fail after the server died')
      assert.notEqual(code, 0)
    } finally {
      client.kill('SIGKILL')
      await pg.stop()
    }
    assert.equal(existsSync(pg.dir), false)
  })

  test('a failed start stops the server, removes its directory and shows its log', async () => {
    const bad = { cert: 'not a certificate\n', key: 'not a key\n' }
    const error: unknown = await startPostgres({ ssl: bad }).then(
      () => assert.fail('the start succeeded'),
      (error: unknown) => error,
    )
    assert.ok(error instanceof Error)
    const match =
      /^Cannot start PostgreSQL in "([^"]+)": .*Server log \(last lines\):\n.*certificate/s.exec(
        error.message,
      )
    assert.ok(match?.[1], error.message)
    assert.equal(existsSync(match[1]), false)
  })
})

describe('startRedis', () => {
  test('answers PING, stores a key, and cleans up', async (t) => {
    const redis = await timed(t, 'start', () => startRedis())
    const cli = findBinary({ names: ['redis-cli'], debianPackage: 'redis-server' })
    const run = (...args: string[]) =>
      runTool(cli, ['-h', redis.host, '-p', String(redis.port), ...args], {
        cwd: process.cwd(),
        timeout: 10_000,
      })
    try {
      assert.equal((await run('PING')).trim(), 'PONG')
      assert.equal((await run('SET', 'greeting', 'hello')).trim(), 'OK')
      assert.equal((await run('GET', 'greeting')).trim(), 'hello')
      assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`)
    } finally {
      await timed(t, 'stop', () => redis.stop())
    }
    assert.equal(existsSync(redis.dir), false)
  })
})

describe('startMariadb', () => {
  test('logs in with the password over TCP, refuses others, and cleans up', async (t) => {
    const db = await timed(t, 'start', () => startMariadb())
    try {
      const row = await mariadb(db, 'SELECT CURRENT_USER(), DATABASE(), @@character_set_server')
      assert.equal(row.trim(), 'sockworker@%\tsockworker\tutf8mb4')
      await assert.rejects(
        mariadb(db, 'SELECT 1', db.user, 'wrong'),
        /Access denied for user 'sockworker'/,
      )
      await assert.rejects(mariadb(db, 'SELECT 1', 'root', ''), /Access denied for user 'root'/)
      assert.equal((await db.admin('SELECT CURRENT_USER()')).trim(), 'root@localhost')
    } finally {
      await timed(t, 'stop', () => db.stop())
    }
    assert.equal(existsSync(db.dir), false)
  })
})
