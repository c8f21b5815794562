/**
 * A server-backed storage whose backend module loads on first use, so a
 * replica whose bindings are all SQLite files never loads the Redis or
 * PostgreSQL code, let alone their drivers.
 */
import { lazily, type RemoteStorage } from './remote.ts'

/**
 * Delegates every call to the storage `open()` resolves to, opening it on
 * the first call (and again after a failed attempt).
 *
 * @example
 * const store = lazyStorage(async () => (await import('./redis.ts')).openRedisStorage(url))
 */
export function lazyStorage(open: () => Promise<RemoteStorage>): RemoteStorage {
  const storage = lazily(open)
  // The caller's async context carries over, so the backend's own checks
  // (a call on the storage from inside its transaction) still apply.
  const on = <T>(fn: (s: RemoteStorage) => Promise<T>): Promise<T> => storage.get().then(fn)
  return {
    get: (key) => on((s) => s.get(key)),
    getMany: (keys) => on((s) => s.getMany(keys)),
    put: (key, value, options) => on((s) => s.put(key, value, options)),
    delete: (key) => on((s) => s.delete(key)),
    ttl: (key) => on((s) => s.ttl(key)),
    expire: (key, expiresAt) => on((s) => s.expire(key, expiresAt)),
    list: (options) => on((s) => s.list(options)),
    transaction: (work) => on((s) => s.transaction(work)),
    async close() {
      await storage.take()?.then((s) => s.close())
    },
  }
}
