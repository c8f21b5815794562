/**
 * The embedded storage backend: one SQLite file (`node:sqlite`) in WAL mode,
 * which a worker's replicas (separate processes) open together. SQLite's
 * own locks serialise writers across processes (`busy_timeout` makes them
 * wait instead of failing). In this process, the writes of one event-loop
 * turn share one commit, and explicit transactions run alone
 * (`group-commit.ts`).
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { GroupCommit } from './group-commit.ts'
import { checkValue, expiryOf, withTransactions } from './ops.ts'
import type { ListOptions, Storage, StorageOps, StorageValue } from './types.ts'

export interface SqliteStorageOptions {
  /** The clock, ms since the epoch (tests inject one). Default: `Date.now`. */
  now?: () => number
  /** How long to wait for another process's write lock, in ms. Default: 5000. */
  busyTimeoutMs?: number
}

/** A storage on a SQLite file; `close()` releases the file. */
export interface SqliteStorage extends Storage {
  close(): void
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY NOT NULL,
  type INTEGER NOT NULL, -- 0: text, 1: bytes
  value BLOB NOT NULL,
  expires_at INTEGER -- ms since the epoch; NULL: never
);
CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL;
`

/** Rows whose expiry has passed are purged at most this often (and on read). */
const PURGE_EVERY_MS = 60_000

/**
 * Opens (creating if needed, with its directory) the storage in `file`.
 * Call `transaction` for read-modify-write; inside `work`, use only `tx`
 * (calling the storage itself there rejects: it would wait for itself).
 *
 * @example
 * const store = openSqliteStorage('data/kv.sqlite')
 * await store.put('greeting', 'hi', { expiresIn: 60_000 })
 * const n = await store.transaction(async (tx) => {
 *   const next = Number((await tx.get('n')) ?? 0) + 1
 *   await tx.put('n', String(next))
 *   return next
 * })
 */
export function openSqliteStorage(file: string, options: SqliteStorageOptions = {}): SqliteStorage {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new DatabaseSync(file)
  // Set before anything else takes a lock, so even the schema waits its turn.
  db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = NORMAL')
  db.exec(SCHEMA)
  const ops = sqliteOps(db, options.now ?? Date.now)
  const scheduler = schedulerFor(file)
  const read = <T>(fn: () => Promise<T>) => scheduler.op(db, false, fn)
  const write = <T>(fn: () => Promise<T>) => scheduler.op(db, true, fn)
  const batched: StorageOps = {
    get: (key) => read(() => ops.get(key)),
    getMany: (keys) => read(() => ops.getMany(keys)),
    ttl: (key) => read(() => ops.ttl(key)),
    list: (options) => read(() => ops.list(options)),
    put: (key, value, options) => write(() => ops.put(key, value, options)),
    delete: (key) => write(() => ops.delete(key)),
    expire: (key, expiresAt) => write(() => ops.expire(key, expiresAt)),
  }
  return {
    ...withTransactions(batched, (work) =>
      scheduler.exclusive(() => runTransaction(db, ops, work)),
    ),
    close: () => {
      scheduler.commit(db)
      db.close()
    },
  }
}

/**
 * One scheduler per file in this process: a second connection's BEGIN
 * IMMEDIATE would block the thread synchronously while the first one holds
 * the write lock, so connections to one file in one process take turns here.
 */
const schedulers = new Map<string, GroupCommit>()

function schedulerFor(file: string): GroupCommit {
  if (file === ':memory:') return new GroupCommit()
  const key = resolve(file)
  let scheduler = schedulers.get(key)
  if (!scheduler) schedulers.set(key, (scheduler = new GroupCommit()))
  return scheduler
}

async function runTransaction<T>(
  db: DatabaseSync,
  ops: StorageOps,
  work: (tx: StorageOps) => Promise<T>,
): Promise<T> {
  // IMMEDIATE takes the write lock now, so two replicas' read-modify-write
  // cycles cannot both read the old value.
  db.exec('BEGIN IMMEDIATE')
  try {
    const result = await work(ops)
    db.exec('COMMIT')
    return result
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK')
    throw error
  }
}

interface Row {
  type: number
  value: string | Uint8Array
  expires_at: number | null
}

/** The operations on `db`, unlocked (callers hold the queue). */
function sqliteOps(db: DatabaseSync, now: () => number): StorageOps {
  const live = '(expires_at IS NULL OR expires_at > ?)'
  const q = {
    get: db.prepare(`SELECT type, value, expires_at FROM kv WHERE key = ?`),
    dropIfExpired: db.prepare('DELETE FROM kv WHERE key = ? AND expires_at <= ?'),
    purge: db.prepare('DELETE FROM kv WHERE expires_at <= ?'),
    upsert: db.prepare(
      `INSERT INTO kv (key, type, value, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET type = excluded.type, value = excluded.value,
       expires_at = excluded.expires_at`,
    ),
    insertIfAbsent: db.prepare(
      `INSERT INTO kv (key, type, value, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET type = excluded.type, value = excluded.value,
       expires_at = excluded.expires_at WHERE NOT ${live}`,
    ),
    updateIfPresent: db.prepare(
      `UPDATE kv SET type = ?, value = ?, expires_at = ? WHERE key = ? AND ${live}`,
    ),
    delete: db.prepare(`DELETE FROM kv WHERE key = ? AND ${live}`),
    expire: db.prepare(`UPDATE kv SET expires_at = ? WHERE key = ? AND ${live}`),
    list: db.prepare(
      `SELECT key, type, value FROM kv WHERE key >= ? AND substr(key, 1, length(?)) = ?
       AND ${live} ORDER BY key LIMIT ?`,
    ),
  }
  let lastPurge = now()
  const read = (key: string): Row | undefined => {
    const row = q.get.get(key) as Row | undefined
    if (row?.expires_at != null && row.expires_at <= now()) {
      q.dropIfExpired.run(key, now())
      return undefined
    }
    return row
  }
  const purgeSometimes = (at: number) => {
    if (at - lastPurge < PURGE_EVERY_MS) return
    lastPurge = at
    q.purge.run(at)
  }
  const ops: StorageOps = {
    async get(key) {
      const row = read(key)
      return row ? decode(row) : null
    },
    async getMany(keys) {
      return keys.map((key) => {
        const row = read(key)
        return row ? decode(row) : null
      })
    },
    async put(key, value, options = {}) {
      const at = now()
      purgeSometimes(at)
      const [type, stored] = encode(value)
      const expiresAt = expiryOf(options, at)
      const { changes } =
        options.onlyIf === 'present'
          ? q.updateIfPresent.run(type, stored, expiresAt, key, at)
          : (options.onlyIf === 'absent' ? q.insertIfAbsent : q.upsert).run(
              key,
              type,
              stored,
              expiresAt,
              ...(options.onlyIf === 'absent' ? [at] : []),
            )
      return Number(changes) > 0
    },
    async delete(key) {
      return Number(q.delete.run(key, now()).changes) > 0
    },
    async ttl(key) {
      const row = read(key)
      if (!row) return undefined
      return row.expires_at == null ? null : row.expires_at - now()
    },
    async expire(key, expiresAt) {
      return Number(q.expire.run(expiresAt, key, now()).changes) > 0
    },
    async list(options: ListOptions = {}) {
      const prefix = options.prefix ?? ''
      const limit = options.limit ?? 1000
      const rows = q.list.all(prefix, prefix, prefix, now(), limit) as unknown as Array<
        Row & { key: string }
      >
      return rows.map((row) => ({ key: row.key, value: decode(row) }))
    },
  }
  return ops
}

function encode(value: StorageValue): [number, string | Uint8Array] {
  checkValue(value)
  return typeof value === 'string' ? [0, value] : [1, value]
}

function decode(row: Row): StorageValue {
  if (row.type === 1) return new Uint8Array(row.value as Uint8Array)
  return typeof row.value === 'string' ? row.value : new TextDecoder().decode(row.value)
}
