/**
 * What the server backends (Redis, PostgreSQL) share: their options, the
 * storage they return, and a connection made on first use.
 */
import type { RuntimeSocketFactory } from '../egress/runtime-socket.ts'
import type { Storage } from './types.ts'

/** Options of the server backends. */
export interface RemoteStorageOptions {
  /** Overrides any password in the URL (from `password_secret`). Default: the URL's. */
  password?: string
  /** Redis key prefix `{namespace}:`, PostgreSQL table `namespace_kv`. Default: `sockworker`. */
  namespace?: string
  /** Longest an operation waits for the server or the lock, in ms. Default: 5000. */
  timeoutMs?: number
  /** Opens the runtime's connections past the egress guard. Default: plain sockets. */
  socket?: RuntimeSocketFactory
  /** The clock for expiry, ms since the epoch. Default: `Date.now`. */
  now?: () => number
}

/** A storage on a server; `close()` ends its connections. */
export interface RemoteStorage extends Storage {
  close(): Promise<void>
}

/**
 * A connection opened by the first `get()` and shared after; an attempt that
 * failed (the server was down) is forgotten, so the next `get()` tries
 * afresh. `take()` hands the current one over for closing.
 *
 * @example
 * const pool = lazily(() => openPool(url))
 * const rows = (await pool.get()).query('SELECT 1')
 */
export function lazily<T>(open: () => Promise<T>): {
  get(): Promise<T>
  take(): Promise<T> | undefined
} {
  let current: Promise<T> | undefined
  return {
    get() {
      if (current === undefined) {
        const attempt = open()
        current = attempt
        attempt.catch(() => {
          if (current === attempt) current = undefined
        })
      }
      return current
    },
    take() {
      const taken = current
      current = undefined
      return taken
    },
  }
}
