/**
 * The commands, on the storage binding. Keys are UTF-8 text; values are
 * kept as the bytes the client sent. Read-modify-write commands (INCR,
 * MSET) run in a storage transaction, so they stay atomic when several
 * replicas share the data file.
 */
import type { Storage, StorageValue } from '../../packages/sockworker/src/storage/types.ts'
import { globToRegExp, literalPrefix } from './glob.ts'
import { array, bulk, error, integer, simple } from './resp.ts'

type Handler = (storage: Storage, args: Uint8Array[]) => Promise<Uint8Array>

/** Arity as Redis counts it (the name included); negative: at least that many. */
interface Command {
  arity: number
  run: Handler
}

const decoder = new TextDecoder()
const text = (bytes: Uint8Array | undefined): string => decoder.decode(bytes ?? new Uint8Array())
const OK = simple('OK')
const NOT_INTEGER = error('ERR value is not an integer or out of range')
const SYNTAX = error('ERR syntax error')
const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)

/** A strict base-10 64-bit integer, as Redis reads counters and options. */
function parseInteger(value: StorageValue | Uint8Array | undefined): bigint | undefined {
  const digits = typeof value === 'string' ? value : text(value)
  if (!/^(0|-?[1-9]\d{0,19})$/.test(digits)) return undefined
  const n = BigInt(digits)
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined
}

const commands: Record<string, Command> = {
  ping: {
    arity: -1,
    run: async (_, [, message]) => (message ? bulk(message) : simple('PONG')),
  },
  echo: { arity: 2, run: async (_, [, message]) => bulk(message ?? null) },
  quit: { arity: -1, run: async () => OK },
  select: {
    arity: 2,
    async run(_, [, index]) {
      const n = parseInteger(index)
      if (n === undefined) return NOT_INTEGER
      return n === 0n ? OK : error('ERR DB index is out of range')
    },
  },
  get: { arity: 2, run: async (storage, [, key]) => bulk(await storage.get(text(key))) },
  set: { arity: -3, run: set },
  del: {
    arity: -2,
    async run(storage, [, ...keys]) {
      let deleted = 0
      for (const key of keys) if (await storage.delete(text(key))) deleted++
      return integer(deleted)
    },
  },
  exists: {
    arity: -2,
    async run(storage, [, ...keys]) {
      const values = await storage.getMany(keys.map(text))
      return integer(values.filter((value) => value !== null).length)
    },
  },
  incr: { arity: 2, run: (storage, [, key]) => incrementBy(storage, text(key), 1n) },
  decr: { arity: 2, run: (storage, [, key]) => incrementBy(storage, text(key), -1n) },
  incrby: { arity: 3, run: (storage, args) => incrementByArg(storage, args, 1n) },
  decrby: { arity: 3, run: (storage, args) => incrementByArg(storage, args, -1n) },
  expire: { arity: 3, run: (storage, args) => expire(storage, args, 1000) },
  pexpire: { arity: 3, run: (storage, args) => expire(storage, args, 1) },
  ttl: { arity: 2, run: (storage, [, key]) => ttl(storage, text(key), 1000) },
  pttl: { arity: 2, run: (storage, [, key]) => ttl(storage, text(key), 1) },
  keys: { arity: 2, run: keys },
  mget: {
    arity: -2,
    async run(storage, [, ...keys]) {
      return array((await storage.getMany(keys.map(text))).map(bulk))
    },
  },
  mset: {
    arity: -3,
    async run(storage, [, ...pairs]) {
      if (pairs.length % 2 !== 0) return error("ERR wrong number of arguments for 'mset' command")
      await storage.transaction(async (tx) => {
        for (let i = 0; i < pairs.length; i += 2) {
          await tx.put(text(pairs[i]), pairs[i + 1] ?? new Uint8Array())
        }
      })
      return OK
    },
  },
}

/**
 * Runs one command and returns its encoded reply. Errors the client caused
 * become `-ERR` replies; storage failures are reported the same way.
 *
 * @example
 * await execute(env.STORE, [bytes('SET'), bytes('k'), bytes('v')]) // +OK
 */
export async function execute(storage: Storage, args: Uint8Array[]): Promise<Uint8Array> {
  const name = text(args[0]).toLowerCase()
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (!command) {
    const rest = args
      .slice(1, 6)
      .map((arg) => `'${text(arg).slice(0, 128)}' `)
      .join('')
    return error(
      `ERR unknown command '${text(args[0]).slice(0, 128)}', with args beginning with: ${rest}`,
    )
  }
  const { arity, run } = command
  if (arity > 0 ? args.length !== arity : args.length < -arity) {
    return error(`ERR wrong number of arguments for '${name}' command`)
  }
  try {
    return await run(storage, args)
  } catch (cause) {
    return error(`ERR storage failed: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/** SET key value [NX|XX] [EX seconds|PX milliseconds|KEEPTTL] */
async function set(
  storage: Storage,
  [, key, value, ...options]: Uint8Array[],
): Promise<Uint8Array> {
  let onlyIf: 'absent' | 'present' | undefined
  let expiresIn: number | undefined
  let keepTtl = false
  for (let i = 0; i < options.length; i++) {
    const option = text(options[i]).toUpperCase()
    if ((option === 'NX' || option === 'XX') && onlyIf === undefined) {
      onlyIf = option === 'NX' ? 'absent' : 'present'
    } else if ((option === 'EX' || option === 'PX') && expiresIn === undefined && !keepTtl) {
      if (i + 1 >= options.length) return SYNTAX
      const n = parseInteger(options[++i])
      if (n === undefined) return NOT_INTEGER
      if (n <= 0n) return error("ERR invalid expire time in 'set' command")
      expiresIn = Number(n) * (option === 'EX' ? 1000 : 1)
    } else if (option === 'KEEPTTL' && expiresIn === undefined) keepTtl = true
    else return SYNTAX
  }
  const name = text(key)
  const bytes = value ?? new Uint8Array()
  const put = (target: Pick<Storage, 'put' | 'ttl'>, extra: { expiresIn?: number }) =>
    target.put(name, bytes, {
      ...(onlyIf ? { onlyIf } : {}),
      ...(expiresIn !== undefined ? { expiresIn } : extra),
    })
  const written = keepTtl
    ? await storage.transaction(async (tx) => {
        const left = await tx.ttl(name)
        return put(tx, typeof left === 'number' ? { expiresIn: left } : {})
      })
    : await put(storage, {})
  return written ? OK : bulk(null)
}

async function incrementByArg(storage: Storage, [, key, by]: Uint8Array[], sign: bigint) {
  const n = parseInteger(by)
  return n === undefined ? NOT_INTEGER : incrementBy(storage, text(key), n * sign)
}

/** INCR and friends: read, add, write back in one transaction; the expiry stays. */
function incrementBy(storage: Storage, key: string, by: bigint): Promise<Uint8Array> {
  return storage.transaction(async (tx) => {
    const current = await tx.get(key)
    const n = current === null ? 0n : parseInteger(current)
    if (n === undefined) return NOT_INTEGER
    const next = n + by
    if (next > INT64_MAX || next < INT64_MIN) {
      return error('ERR increment or decrement would overflow')
    }
    const left = await tx.ttl(key)
    await tx.put(key, String(next), typeof left === 'number' ? { expiresIn: left } : {})
    return integer(next)
  })
}

/** EXPIRE key seconds: 1 if the key exists; a time not in the future deletes it. */
async function expire(storage: Storage, [, key, amount]: Uint8Array[], unitMs: number) {
  const n = parseInteger(amount)
  if (n === undefined) return NOT_INTEGER
  const at = Date.now() + Number(n) * unitMs
  return integer((await storage.expire(text(key), at)) ? 1 : 0)
}

/** TTL key: -2 if absent, -1 if it never expires, else what is left (rounded, as Redis does). */
async function ttl(storage: Storage, key: string, unitMs: number) {
  const left = await storage.ttl(key)
  if (left === undefined) return integer(-2)
  if (left === null) return integer(-1)
  return integer(Math.max(0, Math.round(left / unitMs)))
}

/** KEYS pattern: every live key matching, in key order. */
async function keys(storage: Storage, [, pattern]: Uint8Array[]): Promise<Uint8Array> {
  const glob = text(pattern)
  let matcher: RegExp
  try {
    matcher = globToRegExp(glob)
  } catch {
    return array([])
  }
  const entries = await storage.list({ prefix: literalPrefix(glob), limit: 1_000_000 })
  return array(entries.filter(({ key }) => matcher.test(key)).map(({ key }) => bulk(key)))
}
