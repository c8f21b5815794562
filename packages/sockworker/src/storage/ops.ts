/**
 * What every storage backend shares: checking values and options the same
 * way, routing operations through a lock, and the rules of `transaction()`
 * (inside `work`, use `tx`; after it, `tx` is dead).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { PutOptions, Storage, StorageOps, StorageValue } from './types.ts'

/** Runs `fn` under some discipline (a queue, a check). */
export type Via = <T>(fn: () => Promise<T>) => Promise<T>

/**
 * Routes every operation of `ops` through `via`.
 *
 * @example
 * const queued = wrapOps(ops, queue)
 */
export function wrapOps(ops: StorageOps, via: Via): StorageOps {
  return {
    get: (key) => via(() => ops.get(key)),
    getMany: (keys) => via(() => ops.getMany(keys)),
    put: (key, value, options) => via(() => ops.put(key, value, options)),
    delete: (key) => via(() => ops.delete(key)),
    ttl: (key) => via(() => ops.ttl(key)),
    expire: (key, expiresAt) => via(() => ops.expire(key, expiresAt)),
    list: (options) => via(() => ops.list(options)),
  }
}

/**
 * The absolute expiry `options` ask for, in ms since the epoch; `null` for none.
 *
 * @example
 * expiryOf({ expiresIn: 1000 }, 5000) // 6000
 */
export function expiryOf(options: PutOptions, at: number): number | null {
  if (options.expiresAt !== undefined) return options.expiresAt
  if (options.expiresIn !== undefined) return at + options.expiresIn
  return null
}

/**
 * Throws the caller's mistake at once: a value that is neither a string nor bytes.
 *
 * @example
 * checkValue(42) // TypeError: Storage values are strings or Uint8Arrays, got number
 */
export function checkValue(value: unknown): asserts value is StorageValue {
  if (typeof value === 'string' || value instanceof Uint8Array) return
  throw new TypeError(`Storage values are strings or Uint8Arrays, got ${typeof value}`)
}

/**
 * A `Storage` from plain operations and a transaction runner: a call on the
 * storage itself from inside `work` rejects at once (it would wait for its
 * own transaction, or escape it), and `tx` rejects once `work` has settled.
 * `via` (default: run at once) wraps every operation and transaction, as
 * SQLite's per-file queue does.
 *
 * @example
 * return { ...withTransactions(ops, (work) => runInTx(work)), close }
 */
export function withTransactions(
  ops: StorageOps,
  begin: <T>(work: (tx: StorageOps) => Promise<T>) => Promise<T>,
  via: Via = (fn) => fn(),
): Storage {
  const inside = new AsyncLocalStorage<{ open: boolean }>()
  const guarded: Via = (fn) =>
    inside.getStore()?.open
      ? Promise.reject(new Error('Inside a transaction, use its `tx`, not the storage itself'))
      : via(fn)
  return {
    ...wrapOps(ops, guarded),
    transaction: (work) =>
      guarded(() =>
        begin(async (txOps) => {
          const state = { open: true }
          const tx = wrapOps(txOps, async (fn) => {
            if (!state.open) {
              throw new Error('This transaction has ended; use the storage, not `tx`, after it')
            }
            return fn()
          })
          try {
            return await inside.run(state, () => work(tx))
          } finally {
            state.open = false
          }
        }),
      ),
  }
}

/**
 * Runs `fn`s one after another, each after the previous one settled.
 *
 * @example
 * const queue = promiseQueue()
 * await Promise.all([queue(a), queue(b)]) // b starts once a has settled
 */
export function promiseQueue(): Via {
  let tail: Promise<unknown> = Promise.resolve()
  return (fn) => {
    const result = tail.then(fn)
    tail = result.catch(() => {})
    return result
  }
}
