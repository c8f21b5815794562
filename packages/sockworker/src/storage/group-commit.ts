/**
 * Group commit for the SQLite backend. The writes one turn of the event
 * loop makes share one transaction, committed in `setImmediate`; each
 * write's promise resolves only after that commit, so a write the caller's
 * `await` has seen is in the WAL exactly as with one commit per write
 * (docs/runtime.md, "Storage durability"). A commit costs about as much as
 * the writes it holds, so 50 clients' SETs in one turn pay for one instead
 * of 50.
 *
 * Reads join an open batch (they see its writes, and so resolve after its
 * commit, never showing a value that might yet roll back); with no batch
 * open they run at once. Explicit transactions run alone: each waits for the
 * transactions before it, commits the open batch first, and operations that
 * arrive meanwhile wait behind it.
 */
import type { DatabaseSync } from 'node:sqlite'
import { StorageError } from './errors.ts'

interface Waiter {
  result: Promise<unknown>
  resolve: (value: unknown) => void
  reject: (reason: unknown) => void
}

interface Batch {
  db: DatabaseSync
  waiters: Waiter[]
}

const ignore = (): void => {}

/**
 * Schedules one file's operations in this process (every connection to the
 * file shares it: a second connection's BEGIN IMMEDIATE would block the
 * thread while the first holds the write lock).
 *
 * @example
 * const scheduler = new GroupCommit()
 * const done = scheduler.op(db, true, () => ops.put('k', 'v')) // resolves after the turn's COMMIT
 * await scheduler.exclusive(() => runTransaction(db, ops, work))
 */
export class GroupCommit {
  #batch: Batch | undefined
  /** Transactions queued or running, and operations waiting behind them. */
  #waiting = 0
  #tail: Promise<unknown> = Promise.resolve()

  /**
   * Runs `fn`, an operation on `db` that `writes` or only reads, in this
   * turn's batch (opening one for a write); resolves with its result once
   * the batch has committed. Behind a transaction, it waits its turn.
   */
  op<T>(db: DatabaseSync, writes: boolean, fn: () => Promise<T>): Promise<T> {
    if (this.#waiting === 0) return this.#run(db, writes, fn)
    this.#waiting++
    const { promise, resolve, reject } = Promise.withResolvers<T>()
    this.#tail = this.#tail.then(() => {
      this.#waiting--
      this.#run(db, writes, fn).then(resolve, reject)
    })
    return promise
  }

  /** Runs `fn` (an explicit transaction) alone, after committing the open batch. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.#waiting++
    const run = this.#tail
      .then(() => {
        this.commit()
        return fn()
      })
      .finally(() => this.#waiting--)
    this.#tail = run.catch(ignore)
    return run
  }

  /** Commits the open batch now, if it is on `db` (or on any connection, without one). */
  commit(db?: DatabaseSync): void {
    const batch = this.#batch
    if (batch === undefined || (db !== undefined && batch.db !== db)) return
    this.#batch = undefined
    try {
      batch.db.exec('COMMIT')
    } catch (cause) {
      if (batch.db.isTransaction) batch.db.exec('ROLLBACK')
      fail(batch, cause)
      return
    }
    for (const waiter of batch.waiters) waiter.resolve(waiter.result)
  }

  #run<T>(db: DatabaseSync, writes: boolean, fn: () => Promise<T>): Promise<T> {
    if (this.#batch !== undefined && this.#batch.db !== db) this.commit()
    let batch = this.#batch
    if (batch === undefined) {
      if (!writes) return fn()
      try {
        // IMMEDIATE takes the write lock now (waiting up to busy_timeout
        // for another replica's), so the batch cannot fail to upgrade later.
        db.exec('BEGIN IMMEDIATE')
      } catch (error) {
        return Promise.reject(error)
      }
      const opened: Batch = { db, waiters: [] }
      this.#batch = batch = opened
      setImmediate(() => {
        if (this.#batch === opened) this.commit()
      })
    }
    // The ops run synchronously (node:sqlite), so the statement is done here.
    const result = fn()
    result.catch(ignore) // settled for the caller at commit, not unhandled now
    const { promise, resolve, reject } = Promise.withResolvers<T>()
    batch.waiters.push({ result, resolve: resolve as Waiter['resolve'], reject })
    if (!db.isTransaction) {
      // A failure that rolls back the whole transaction (SQLITE_FULL, an
      // I/O error) took every write of the batch with it.
      this.#batch = undefined
      result.then(
        () => fail(batch, new Error('The transaction ended unexpectedly')),
        (cause) => fail(batch, cause),
      )
    }
    return promise
  }
}

/** Rejects every write of a batch that did not commit. */
function fail(batch: Batch, cause: unknown): void {
  const reason = cause instanceof Error ? cause.message : String(cause)
  const error = new StorageError(
    'ERR_STORAGE_COMMIT_FAILED',
    `Storage commit failed, so this write was not kept: ${reason}`,
    { cause },
  )
  for (const waiter of batch.waiters) waiter.reject(error)
}
