/**
 * The storage binding a worker sees on `env` (issues 5 and 13): a small
 * key-value API with expiry and transactions, the same on every backend:
 * SQLite (`node:sqlite`, one file shared by a worker's replicas; the
 * default), Redis or PostgreSQL (shared by every instance). See docs/storage.md.
 *
 * Values are strings or bytes, stored as given and returned as stored.
 */
export type StorageValue = string | Uint8Array

export interface PutOptions {
  /** Milliseconds from now after which the key is gone. Default: never. */
  expiresIn?: number
  /** Absolute expiry, ms since the epoch. Default: never. */
  expiresAt?: number
  /** Write only if the key is absent (`'absent'`) or present (`'present'`). Default: always. */
  onlyIf?: 'absent' | 'present'
}

export interface ListOptions {
  /** Only keys starting with this. Default: all. */
  prefix?: string
  /** At most this many, in key order. Default: 1000. */
  limit?: number
}

/** The operations, inside or outside a transaction. */
export interface StorageOps {
  get(key: string): Promise<StorageValue | null>
  /** Many keys at once; `null` where absent. */
  getMany(keys: string[]): Promise<Array<StorageValue | null>>
  /** Returns whether the value was written (see `onlyIf`). */
  put(key: string, value: StorageValue, options?: PutOptions): Promise<boolean>
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>
  /** Remaining life in ms; `null` if the key has no expiry; `undefined` if absent. */
  ttl(key: string): Promise<number | null | undefined>
  /** Sets or clears (`null`) the expiry of an existing key; returns whether it existed. */
  expire(key: string, expiresAt: number | null): Promise<boolean>
  /** Keys in order, with their values. Expired keys never appear. */
  list(options?: ListOptions): Promise<Array<{ key: string; value: StorageValue }>>
}

export interface Storage extends StorageOps {
  /**
   * Runs `work` in one transaction: every operation on `tx` commits
   * together, or none does if `work` throws. `work` runs once (never
   * retried). Transactions are serialised per storage, across every
   * replica and instance.
   */
  transaction<T>(work: (tx: StorageOps) => Promise<T>): Promise<T>
}
