/**
 * A transaction's writes, held back until commit, over a backend's reads:
 * `tx` sees its own writes at once, the backend sees all of them at commit
 * or none. The Redis backend uses it (PostgreSQL has real transactions).
 */
import { checkValue, expiryOf } from './ops.ts'
import type { ListOptions, StorageOps, StorageValue } from './types.ts'

/** A key's state after the transaction: a value (with its expiry), or gone (`null`). */
export type Pending = { value: StorageValue; expiresAt: number | null } | null

/**
 * The `tx` over `base`, and the writes it gathers, in key order of first write.
 *
 * @example
 * const { tx, writes } = overlay(ops, Date.now)
 * await work(tx)
 * await commit(writes)
 */
export function overlay(
  base: StorageOps,
  now: () => number,
): { tx: StorageOps; writes: Map<string, Pending> } {
  const writes = new Map<string, Pending>()
  const live = (p: Pending): p is Exclude<Pending, null> =>
    p !== null && (p.expiresAt === null || p.expiresAt > now())
  const get = async (key: string): Promise<StorageValue | null> => {
    if (!writes.has(key)) return base.get(key)
    const p = writes.get(key) ?? null
    return live(p) ? p.value : null
  }
  const tx: StorageOps = {
    get,
    async getMany(keys) {
      const fromBase = await base.getMany(keys.filter((key) => !writes.has(key)))
      return Promise.all(keys.map((key) => (writes.has(key) ? get(key) : fromBase.shift()!)))
    },
    async put(key, value, options = {}) {
      checkValue(value)
      if (options.onlyIf !== undefined) {
        const present = (await get(key)) !== null
        if (present !== (options.onlyIf === 'present')) return false
      }
      const copy = typeof value === 'string' ? value : new Uint8Array(value)
      writes.set(key, { value: copy, expiresAt: expiryOf(options, now()) })
      return true
    },
    async delete(key) {
      const existed = (await get(key)) !== null
      writes.set(key, null)
      return existed
    },
    async ttl(key) {
      if (!writes.has(key)) return base.ttl(key)
      const p = writes.get(key) ?? null
      if (!live(p)) return undefined
      return p.expiresAt === null ? null : p.expiresAt - now()
    },
    async expire(key, expiresAt) {
      const value = await get(key)
      if (value === null) return false
      writes.set(key, { value, expiresAt })
      return true
    },
    async list(options: ListOptions = {}) {
      const prefix = options.prefix ?? ''
      const limit = options.limit ?? 1000
      // Each pending write can hide at most one of the base's entries.
      const entries = new Map(
        (await base.list({ prefix, limit: limit + writes.size })).map((e) => [e.key, e.value]),
      )
      for (const [key, p] of writes) {
        if (!key.startsWith(prefix)) continue
        if (live(p)) entries.set(key, p.value)
        else entries.delete(key)
      }
      return [...entries]
        .map(([key, value]) => ({ key, value, bytes: Buffer.from(key) }))
        .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
        .slice(0, limit)
        .map(({ key, value }) => ({ key, value }))
    },
  }
  return { tx, writes }
}
