/**
 * The PostgreSQL backend: one table `<namespace>_kv` (key in "C" collation,
 * so `list` sorts by bytes as SQLite does), expiry checked against the
 * app's clock as in SQLite, through a small pool.
 *
 * Transactions are real ones, serialised per storage by an exclusive
 * advisory lock (`pg_advisory_xact_lock`) taken first thing, so `work` runs
 * once and never needs a retry. Plain writes take the same lock shared, in
 * the same statement, so nothing writes between a transaction's reads and
 * its commit. Why not SERIALIZABLE with retries: docs/decisions.md.
 *
 * pg loads on first use, so workers without this backend never load it.
 */
import { createHash } from 'node:crypto'
import type { Pool } from 'pg'
import { plainSocket } from '../egress/runtime-socket.ts'
import { busy, StorageError, unavailable } from './errors.ts'
import { checkValue, expiryOf, promiseQueue, withTransactions } from './ops.ts'
import { pgStatements } from './postgres-sql.ts'
import { lazily, type RemoteStorage, type RemoteStorageOptions } from './remote.ts'
import type { StorageOps, StorageValue } from './types.ts'
import { redactUrl } from './url.ts'

/** Expired rows are deleted at most this often, by a put. */
const PURGE_EVERY_MS = 60_000

type Query = <R>(text: string, values: unknown[]) => Promise<R[]>

/**
 * Opens (lazily: nothing connects before the first operation) the storage at `url`.
 *
 * @example
 * const store = openPostgresStorage('postgres://app@db.internal/app', { password })
 * await store.transaction(async (tx) => tx.put('n', String(Number((await tx.get('n')) ?? 0) + 1)))
 */
export function openPostgresStorage(
  url: string,
  options: RemoteStorageOptions = {},
): RemoteStorage {
  const ns = options.namespace ?? 'sockworker'
  const timeoutMs = options.timeoutMs ?? 5000
  const now = options.now ?? Date.now
  const where = redactUrl(url)
  const sql = pgStatements(`${ns}_kv`)
  let closed = false
  const pool = lazily(() => connect(url, { ...options, timeoutMs }, sql.schema))
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new StorageError('ERR_STORAGE_UNAVAILABLE', `Storage at ${where} is closed`)
    try {
      return await fn()
    } catch (error) {
      // lock_not_available: lock_timeout ran out waiting for a transaction.
      if ((error as { code?: unknown }).code === '55P03') throw busy(where, timeoutMs, error)
      throw unavailable(where, error)
    }
  }
  const viaPool: Query = (text, values) =>
    wrap(async () => (await (await pool.get()).query(prepared(text, values))).rows)
  const plain = pgOps(viaPool, sql, now)
  const queue = promiseQueue()
  const begin = <T>(work: (tx: StorageOps) => Promise<T>): Promise<T> =>
    queue(async () => {
      const client = await wrap(async () => (await pool.get()).connect())
      const viaClient: Query = (text, values) =>
        wrap(async () => (await client.query(prepared(text, values))).rows)
      let broken: Error | undefined
      try {
        await viaClient('BEGIN', [])
        await viaClient(sql.lockExclusive, [])
        const result = await work(pgOps(viaClient, sql, now))
        await viaClient('COMMIT', [])
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e
        })
        throw error
      } finally {
        // A connection that failed its ROLLBACK is dropped, not reused.
        client.release(broken)
      }
    })
  return {
    ...withTransactions(plain, begin),
    async close() {
      closed = true
      await pool
        .take()
        ?.then((p) => p.end())
        .catch(() => {})
    },
  }
}

async function connect(
  url: string,
  options: RemoteStorageOptions & { timeoutMs: number },
  schema: string,
): Promise<Pool> {
  const pg = (await import('pg')).default
  const parsed = new URL(url)
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(parsed.port || 5432)
  const socketFor = options.socket ?? plainSocket
  // pg lets the connection string's fields win over separate ones, so the
  // password from the secret goes into the URL.
  if (options.password !== undefined) parsed.password = encodeURIComponent(options.password)
  const pool = new pg.Pool({
    connectionString: parsed.href,
    // The runtime's own socket, past the worker's egress policy.
    stream: () => socketFor({ host, port }),
    max: 4,
    connectionTimeoutMillis: options.timeoutMs,
    // The server gives up waiting for the advisory lock (ERR_STORAGE_BUSY)
    // before we give up on the server (ERR_STORAGE_UNAVAILABLE).
    lock_timeout: options.timeoutMs,
    query_timeout: options.timeoutMs + 500,
    idleTimeoutMillis: 30_000,
  })
  // An idle connection dropped by the server: the next query opens another.
  pool.on('error', () => {})
  const client = await pool.connect().catch(async (error: Error) => {
    await pool.end().catch(() => {})
    throw error
  })
  try {
    await client.query(schema)
  } finally {
    client.release()
  }
  return pool
}

interface Row {
  key?: string
  type: number
  value: Buffer
  expires_at: string | null
}

/** The operations over `query` (the pool, or one transaction's client). */
function pgOps(query: Query, sql: ReturnType<typeof pgStatements>, now: () => number): StorageOps {
  let lastPurge = now()
  return {
    async get(key) {
      const [row] = await query<Row>(sql.get, [key, now()])
      return row ? decode(row) : null
    },
    async getMany(keys) {
      if (keys.length === 0) return []
      const rows = await query<Row & { key: string }>(sql.getMany, [keys, now()])
      const found = new Map(rows.map((row) => [row.key, decode(row)]))
      return keys.map((key) => found.get(key) ?? null)
    },
    async put(key, value, options = {}) {
      checkValue(value)
      const at = now()
      const type = typeof value === 'string' ? 0 : 1
      const bytes = Buffer.from(typeof value === 'string' ? Buffer.from(value) : value)
      const row = [key, type, bytes, expiryOf(options, at)]
      if (at - lastPurge >= PURGE_EVERY_MS) {
        lastPurge = at
        // Expired rows are invisible already; this only reclaims their space.
        query(sql.purge, [at]).catch(() => {})
      }
      const rows =
        options.onlyIf === undefined
          ? await query(sql.upsert, row)
          : await query(options.onlyIf === 'present' ? sql.updateIfPresent : sql.insertIfAbsent, [
              ...row,
              at,
            ])
      return rows.length > 0
    },
    async delete(key) {
      return (await query(sql.delete, [key, now()])).length > 0
    },
    async ttl(key) {
      const [row] = await query<Row>(sql.get, [key, now()])
      if (!row) return undefined
      return row.expires_at === null ? null : Number(row.expires_at) - now()
    },
    async expire(key, expiresAt) {
      return (await query(sql.expire, [key, expiresAt, now()])).length > 0
    },
    async list(options = {}) {
      const prefix = options.prefix ?? ''
      const rows = await query<Row & { key: string }>(sql.list, [
        prefix,
        options.limit ?? 1000,
        now(),
      ])
      return rows.map((row) => ({ key: row.key, value: decode(row) }))
    },
  }
}

/**
 * A statement with parameters as a named prepared statement: each
 * connection parses and plans it once, not on every call. Named after its
 * text, so one name never stands for two statements.
 */
function prepared(text: string, values: unknown[]) {
  if (values.length === 0) return { text }
  let name = names.get(text)
  if (name === undefined) {
    name = `sockworker_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
    names.set(text, name)
  }
  return { name, text, values }
}

const names = new Map<string, string>()

function decode(row: Row): StorageValue {
  return row.type === 1 ? new Uint8Array(row.value) : row.value.toString('utf8')
}
