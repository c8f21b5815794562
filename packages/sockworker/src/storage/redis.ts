/**
 * The Redis backend: values in plain keys with Redis' own expiry, a sorted
 * set of keys for `list`, and every write in a Lua script (one atomic step).
 *
 * Transactions take a lock key (SET NX PX, a random token, a lease of
 * `timeoutMs`), run `work` with its writes held back (overlay.ts), and
 * commit them in one script that first checks the token still holds the
 * lock. Plain writes are scripts that refuse while the lock is held and are
 * retried, so nothing writes between a transaction's reads and its commit.
 * Why a lock and not WATCH/MULTI: docs/decisions.md.
 *
 * ioredis loads on first use, so workers without this backend never load it.
 */
import { randomUUID } from 'node:crypto'
import type { Redis as RedisClient } from 'ioredis'
import { plainSocket } from '../egress/runtime-socket.ts'
import { busy, StorageError, unavailable } from './errors.ts'
import { checkValue, expiryOf, promiseQueue, withTransactions } from './ops.ts'
import { overlay, type Pending } from './overlay.ts'
import { connectorClass } from './redis-connector.ts'
import { LIST, RELEASE, WRITE } from './redis-scripts.ts'
import { lazily, type RemoteStorage, type RemoteStorageOptions } from './remote.ts'
import type { StorageOps, StorageValue } from './types.ts'
import { redactUrl } from './url.ts'

type Write = {
  op: 'set' | 'del' | 'expire'
  key: string
  value?: Buffer
  at: number | null
  onlyIf?: string
}

interface Scripts {
  swWrite(...args: (string | Buffer | number)[]): Promise<number>
  swListBuffer(...args: (string | Buffer | number)[]): Promise<Buffer[]>
  swRelease(...args: string[]): Promise<number>
}

/**
 * Opens (lazily: nothing connects before the first operation) the storage at `url`.
 *
 * @example
 * const store = openRedisStorage('redis://127.0.0.1:6379/0')
 * await store.put('k', 'v', { expiresIn: 60_000 })
 */
export function openRedisStorage(url: string, options: RemoteStorageOptions = {}): RemoteStorage {
  const ns = options.namespace ?? 'sockworker'
  const timeoutMs = options.timeoutMs ?? 5000
  const now = options.now ?? Date.now
  const where = redactUrl(url)
  const k = { lock: `{${ns}}:lock`, index: `{${ns}}:i`, value: `{${ns}}:v:` }
  let closed = false
  // Why the connection is down, for messages: a command only learns that
  // it timed out or ran out of retries.
  let connectionError: Error | undefined
  const onConnection = (error: Error | undefined) => {
    connectionError = error
  }
  const client = lazily(() => connect(url, { ...options, timeoutMs }, onConnection))
  /** One driver call, its failure wrapped to name the server. */
  const call = async <T>(fn: (r: RedisClient & Scripts) => Promise<T>): Promise<T> => {
    if (closed) throw new StorageError('ERR_STORAGE_UNAVAILABLE', `Storage at ${where} is closed`)
    try {
      return await fn(await client.get())
    } catch (error) {
      throw unavailable(where, connectionError ?? error)
    }
  }
  const until = () => deadline(timeoutMs)
  const write = async (writes: Write[], token = ''): Promise<number> => {
    const keys = [k.lock, k.index, ...writes.map((w) => k.value + w.key)]
    const args = writes.flatMap((w) => [w.op, w.key, w.value ?? '', w.at ?? '', w.onlyIf ?? ''])
    const left = until()
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      const result = await call((r) => r.swWrite(keys.length, ...keys, token, now(), ...args))
      if (result !== -1) return result
      if (left() <= 0) throw busy(where, timeoutMs)
      await sleep(wait)
    }
  }
  const ops: StorageOps = {
    async get(key) {
      return decode(await call((r) => r.getBuffer(k.value + key)))
    },
    async getMany(keys) {
      if (keys.length === 0) return []
      const values = await call((r) => r.mgetBuffer(...keys.map((key) => k.value + key)))
      return values.map(decode)
    },
    async put(key, value, options = {}) {
      const at = expiryOf(options, now())
      const onlyIf = options.onlyIf ?? ''
      return (await write([{ op: 'set', key, value: encode(value), at, onlyIf }])) === 1
    },
    async delete(key) {
      return (await write([{ op: 'del', key, at: null }])) === 1
    },
    async ttl(key) {
      const ms = await call((r) => r.pttl(k.value + key))
      return ms === -2 ? undefined : ms === -1 ? null : ms
    },
    async expire(key, expiresAt) {
      return (await write([{ op: 'expire', key, at: expiresAt }])) === 1
    },
    async list(options = {}) {
      const prefix = options.prefix ?? ''
      const min = prefix === '' ? '-' : `[${prefix}`
      // No UTF-8 key contains the byte 0xff, so every key with the prefix sorts below this.
      const max =
        prefix === '' ? '+' : Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])])
      const limit = options.limit ?? 1000
      const flat = await call((r) => r.swListBuffer(1, k.index, min, max, limit, k.value))
      const entries: Array<{ key: string; value: StorageValue }> = []
      for (let i = 0; i + 1 < flat.length; i += 2) {
        entries.push({ key: flat[i]!.toString('utf8'), value: decode(flat[i + 1]!)! })
      }
      return entries
    },
  }
  const acquire = async (token: string) => {
    const left = until()
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      const ok = await call((r) => r.set(k.lock, token, 'PX', String(timeoutMs), 'NX'))
      if (ok === 'OK') return
      if (left() <= 0) throw busy(where, timeoutMs)
      await sleep(wait)
    }
  }
  const queue = promiseQueue()
  const begin = <T>(work: (tx: StorageOps) => Promise<T>): Promise<T> =>
    queue(async () => {
      const token = randomUUID()
      await acquire(token)
      let done = false
      try {
        const { tx, writes } = overlay(ops, now)
        const result = await work(tx)
        const committed = await write(toWrites(writes), token)
        done = true
        if (committed === -2) {
          throw new StorageError(
            'ERR_STORAGE_TX_EXPIRED',
            `A transaction on ${where} ran past its ${timeoutMs} ms lease; nothing was written`,
          )
        }
        return result
      } finally {
        if (!done) await call((r) => r.swRelease('1', k.lock, token)).catch(() => {})
      }
    })
  return {
    ...withTransactions(ops, begin),
    async close() {
      closed = true
      await client
        .take()
        ?.then((r) => r.quit())
        .catch(() => {})
    },
  }
}

async function connect(
  url: string,
  options: RemoteStorageOptions & { timeoutMs: number },
  onConnection: (error: Error | undefined) => void,
): Promise<RedisClient & Scripts> {
  const { Redis } = await import('ioredis')
  const parsed = new URL(url)
  if (parsed.protocol === 'rediss:') {
    throw new StorageError(
      'ERR_STORAGE_UNAVAILABLE',
      'rediss:// (Redis over TLS) is not supported yet; use redis://',
    )
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(parsed.port || 6379)
  const db = Number(parsed.pathname.slice(1) || 0)
  const password = options.password ?? (decodeURIComponent(parsed.password) || undefined)
  const username = decodeURIComponent(parsed.username) || undefined
  const client = new Redis({
    host,
    port,
    db,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    Connector: connectorClass(options.socket ?? plainSocket, { host, port }) as never,
    // While the server is away, commands wait for the reconnect, but never
    // longer than the timeout: then they fail, and later ones work again.
    enableOfflineQueue: true,
    commandTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1000),
  })
  // Failures reach the operations; an unheard 'error' event would kill the replica.
  client.on('error', (error: Error) => onConnection(error))
  client.on('ready', () => onConnection(undefined))
  client.defineCommand('swWrite', { lua: WRITE })
  client.defineCommand('swList', { lua: LIST })
  client.defineCommand('swRelease', { lua: RELEASE })
  return client as RedisClient & Scripts
}

function toWrites(writes: Map<string, Pending>): Write[] {
  return [...writes].map(
    ([key, p]): Write =>
      p === null
        ? { op: 'del', key, at: null }
        : { op: 'set', key, value: encode(p.value), at: p.expiresAt },
  )
}

const TEXT = 0x73 // 's'
const BYTES = 0x62 // 'b'

function encode(value: StorageValue): Buffer {
  checkValue(value)
  const tag = Buffer.from([typeof value === 'string' ? TEXT : BYTES])
  return Buffer.concat([tag, typeof value === 'string' ? Buffer.from(value) : value])
}

function decode(stored: Buffer | null): StorageValue | null {
  if (stored === null) return null
  const payload = stored.subarray(1)
  return stored[0] === BYTES ? new Uint8Array(payload) : payload.toString('utf8')
}

function deadline(ms: number): () => number {
  const at = performance.now() + ms
  return () => at - performance.now()
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
