/**
 * Retained messages (§3.3.1.3): the last retained PUBLISH per topic, kept in
 * the storage binding so they survive a restart and are shared by every
 * replica on the same file. Without a binding they stay in memory.
 *
 * One key per topic, `retained:<topic>`; the value is one header byte (the
 * QoS) followed by the payload bytes.
 */
import type { Storage } from '../../packages/sockworker/src/storage/types.ts'
import type { QoS } from './codec.ts'
import type { Message } from './message.ts'

const PREFIX = 'retained:'
/**
 * Every SUBSCRIBE reads all retained messages and matches its filters here,
 * so a broker with more retained topics than this delivers only the first
 * ones (in key order). Fine for an example; a real broker would index them.
 */
export const MAX_RETAINED = 1000

/** Where retained messages are kept. */
export interface RetainedStore {
  /** Stores `message` under its topic; an empty payload clears the topic. */
  put(message: Message): Promise<void>
  /** Every retained message, at most `MAX_RETAINED`. */
  all(): Promise<Message[]>
}

/** Logged once per process, not once per connection. */
let warnedMissing = false

/**
 * The store for a worker's env: the storage binding named by the var
 * RETAINED_BINDING (default `RETAINED`), or memory if there is none.
 *
 * @example
 * const store = retainedStore(env) // env.RETAINED from --storage RETAINED=mqtt.sqlite
 */
export function retainedStore(env: Record<string, unknown>): RetainedStore {
  const name = typeof env['RETAINED_BINDING'] === 'string' ? env['RETAINED_BINDING'] : 'RETAINED'
  const storage = env[name] as Storage | undefined
  if (storage && typeof storage.list === 'function') return new StorageRetained(storage)
  if (!warnedMissing) {
    warnedMissing = true
    console.warn(
      `mqtt: no storage binding "${name}" on env, so retained messages are kept in memory ` +
        `and lost on restart. Give the worker one, e.g. --storage ${name}=.data/mqtt.sqlite`,
    )
  }
  return new MemoryRetained()
}

/** Retained messages in a Map: one process, gone when it exits. */
export class MemoryRetained implements RetainedStore {
  #messages = new Map<string, Message>()

  async put(message: Message): Promise<void> {
    if (message.payload.length === 0) this.#messages.delete(message.topic)
    else this.#messages.set(message.topic, retainedCopy(message))
  }

  async all(): Promise<Message[]> {
    return [...this.#messages.values()].slice(0, MAX_RETAINED)
  }
}

/**
 * Retained messages in the storage binding. Operations run one after another
 * in this process, so a subscriber that comes after a retained PUBLISH was
 * handled reads it, and two PUBLISHes to one topic land in order.
 */
export class StorageRetained implements RetainedStore {
  #storage: Storage
  #queue: Promise<unknown> = Promise.resolve()

  constructor(storage: Storage) {
    this.#storage = storage
  }

  put(message: Message): Promise<void> {
    return this.#serial(async () => {
      const key = PREFIX + message.topic
      if (message.payload.length === 0) await this.#storage.delete(key)
      else await this.#storage.put(key, encodeRetained(retainedCopy(message)))
    })
  }

  all(): Promise<Message[]> {
    return this.#serial(async () => {
      const entries = await this.#storage.list({ prefix: PREFIX, limit: MAX_RETAINED })
      const messages: Message[] = []
      for (const { key, value } of entries) {
        const message = decodeRetained(key.slice(PREFIX.length), value)
        if (message) messages.push(message)
      }
      return messages
    })
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work)
    this.#queue = result.catch(() => {})
    return result
  }
}

/**
 * The stored value: the QoS byte, then the payload.
 *
 * @example
 * encodeRetained({ topic: 't', payload: Uint8Array.of(0x61), qos: 1, retain: true }) // [1, 0x61]
 */
export function encodeRetained(message: Message): Uint8Array {
  const value = new Uint8Array(1 + message.payload.length)
  value[0] = message.qos
  value.set(message.payload, 1)
  return value
}

/**
 * A stored value back as a message for `topic`; `undefined` if it is not
 * one this broker wrote (a string, or a header byte that is not a QoS).
 *
 * @example
 * decodeRetained('t', Uint8Array.of(1, 0x61)) // { topic: 't', payload: [0x61], qos: 1, retain: true }
 */
export function decodeRetained(topic: string, value: string | Uint8Array): Message | undefined {
  if (typeof value === 'string' || value.length === 0) return undefined
  const qos = value[0]
  if (qos !== 0 && qos !== 1) return undefined
  return { topic, payload: value.subarray(1), qos, retain: true }
}

/** As kept: retain set, QoS 2 stored as 1 (this broker delivers at most QoS 1). */
function retainedCopy(message: Message): Message {
  const { topic, payload } = message
  return { topic, payload, qos: Math.min(message.qos, 1) as QoS, retain: true }
}
