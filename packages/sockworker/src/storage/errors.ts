/**
 * Failures of a storage backend, with stable codes. A caller's mistake (a
 * value that is not a string or bytes) is a `TypeError` instead.
 */

/** Why a storage operation failed. */
export type StorageErrorCode =
  /** The server cannot be reached or did not answer within `timeout_ms`. */
  | 'ERR_STORAGE_UNAVAILABLE'
  /** Another transaction held the storage for longer than `timeout_ms`. */
  | 'ERR_STORAGE_BUSY'
  /** This transaction ran past `timeout_ms`, so its lock lapsed; nothing was written. */
  | 'ERR_STORAGE_TX_EXPIRED'
  /** The commit of the batch holding this write failed (disk full, I/O error); nothing of it was kept. */
  | 'ERR_STORAGE_COMMIT_FAILED'

/**
 * @example
 * try { await env.STORE.get('k') } catch (e) { if (e.code === 'ERR_STORAGE_UNAVAILABLE') retryLater() }
 */
export class StorageError extends Error {
  readonly code: StorageErrorCode
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StorageError'
    this.code = code
  }
}

/**
 * Wraps a driver's failure as `ERR_STORAGE_UNAVAILABLE`, naming the server;
 * our own errors (StorageError, TypeError) pass as they are. Only driver
 * calls are wrapped, never a transaction's `work`, whose errors are the caller's.
 *
 * @example
 * await op().catch((e) => { throw unavailable('redis://cache:6379', e) })
 */
export function unavailable(where: string, cause: unknown): Error {
  if (cause instanceof StorageError || cause instanceof TypeError) return cause
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new StorageError(
    'ERR_STORAGE_UNAVAILABLE',
    `Storage at ${where} is unavailable: ${reason || 'connection lost'}`,
    { cause },
  )
}

/**
 * `ERR_STORAGE_BUSY`: another transaction held the storage for longer than
 * the timeout.
 *
 * @example
 * if (Date.now() > deadline) throw busy('redis://cache:6379', 5000)
 */
export function busy(where: string, timeoutMs: number, cause?: unknown): StorageError {
  return new StorageError(
    'ERR_STORAGE_BUSY',
    `Storage at ${where}: a transaction held it for over ${timeoutMs} ms; try again`,
    cause === undefined ? undefined : { cause },
  )
}
