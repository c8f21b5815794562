/**
 * One broker over many processes: every replica and every instance that
 * has the same `REDIS_URL` shares, through Redis,
 * - the fan-out: a PUBLISH goes to the channel `mqtt:bus`, and every process
 *   routes it to the subscribers connected to it (and so does a takeover of
 *   a client id, so the old connection closes wherever it is);
 * - persistent sessions: subscriptions in the hash `mqtt:session:<id>`,
 *   parked ids in the set `mqtt:parked`, and each parked session's queue in
 *   the list `mqtt:queue:<id>`, bounded to `MAX_QUEUED`;
 * - retained messages: the hash `mqtt:retained`, topic → QoS byte + payload.
 *
 * The Redis connections are the worker's own outbound connections (ioredis
 * over our sockets), so the worker's egress policy must allow the Redis
 * address.
 */
import { Buffer } from 'node:buffer'
import { Redis } from 'ioredis'
import { type Bus, type Message, route, takeOverLocal } from './broker.ts'
import type { QoS } from './codec.ts'
import { decodeRetained, encodeRetained, MAX_RETAINED, type RetainedStore } from './retained.ts'
import { grantFor, MAX_QUEUED, type Parked, type SessionStore } from './sessions.ts'

const CHANNEL = 'mqtt:bus'
const PARKED = 'mqtt:parked'
const RETAINED = 'mqtt:retained'
const sessionKey = (clientId: string) => `mqtt:session:${clientId}`
const queueKey = (clientId: string) => `mqtt:queue:${clientId}`

const KIND_MESSAGE = 0
const KIND_TAKEOVER = 1

/** The session store, bus and retained store of a broker spread over processes. */
export class RedisShared implements SessionStore, Bus, RetainedStore {
  /** This process, so that it ignores its own takeover notices. */
  readonly #origin = crypto.randomUUID()
  readonly #client: Redis
  readonly #subscriber: Redis
  readonly #subscribed: Promise<unknown>

  /**
   * @example
   * const shared = new RedisShared('redis://127.0.0.1:6379')
   */
  constructor(url: string) {
    // Fail a command after one reconnect attempt rather than twenty: a
    // publisher should hear of a Redis outage, not hang.
    this.#client = new Redis(url, { maxRetriesPerRequest: 1 })
    this.#subscriber = new Redis(url)
    let warned = false
    const warn = (error: Error) => {
      if (!warned) console.error(`mqtt: Redis at ${url}: ${error.message}`)
      warned = true
    }
    this.#client.on('error', warn)
    this.#subscriber.on('error', warn)
    this.#subscriber.on('messageBuffer', (_channel: Buffer, data: Buffer) => this.#receive(data))
    this.#subscribed = this.#subscriber.subscribe(CHANNEL)
  }

  // The bus.

  async publish(message: Message): Promise<void> {
    await this.#subscribed
    await this.#client.publish(CHANNEL, encodeMessage(KIND_MESSAGE, message))
  }

  async takeOver(clientId: string): Promise<void> {
    await this.#subscribed
    const notice = Buffer.concat([
      Buffer.of(KIND_TAKEOVER),
      Buffer.from(`${this.#origin} ${clientId}`),
    ])
    await this.#client.publish(CHANNEL, notice)
  }

  #receive(data: Buffer): void {
    if (data[0] === KIND_MESSAGE) {
      const message = decodeMessage(data)
      if (message) route(message)
    } else if (data[0] === KIND_TAKEOVER) {
      const text = data.subarray(1).toString()
      const space = text.indexOf(' ')
      if (text.slice(0, space) !== this.#origin) takeOverLocal(text.slice(space + 1))
    }
  }

  // Persistent sessions.

  async resume(clientId: string): Promise<Parked | undefined> {
    const results = await this.#client
      .multi()
      .hgetall(sessionKey(clientId))
      .lrangeBuffer(queueKey(clientId), 0, -1)
      .del(queueKey(clientId))
      .srem(PARKED, clientId)
      .exec()
    const [filters, queued, , parked] = (results ?? []).map(([error, value]) => {
      if (error) throw error
      return value
    })
    const subscriptions = new Map<string, QoS>()
    for (const [filter, qos] of Object.entries((filters ?? {}) as Record<string, string>)) {
      subscriptions.set(filter, Number(qos) === 1 ? 1 : 0)
    }
    if (parked !== 1 && subscriptions.size === 0) return undefined
    const queue = ((queued ?? []) as Buffer[]).map(decodeMessage).filter((m) => m !== undefined)
    return { subscriptions, queue }
  }

  async park(clientId: string, parked: Parked): Promise<void> {
    const multi = this.#client.multi()
    writeSubscriptions(multi, clientId, parked.subscriptions)
    const queued = parked.queue.slice(-MAX_QUEUED).map((m) => encodeMessage(KIND_MESSAGE, m))
    if (queued.length > 0) multi.rpush(queueKey(clientId), ...queued)
    multi.ltrim(queueKey(clientId), -MAX_QUEUED, -1).sadd(PARKED, clientId)
    await multi.exec()
  }

  async discard(clientId: string): Promise<void> {
    await this.#client
      .multi()
      .del(sessionKey(clientId), queueKey(clientId))
      .srem(PARKED, clientId)
      .exec()
  }

  async saveSubscriptions(clientId: string, subscriptions: Map<string, QoS>): Promise<void> {
    const multi = this.#client.multi()
    writeSubscriptions(multi, clientId, subscriptions)
    await multi.exec()
  }

  /**
   * Reads every parked session's filters on each QoS 1 publish: fine for an
   * example; a large broker would index parked subscriptions by topic.
   */
  async enqueue(message: Message): Promise<void> {
    if (message.qos === 0) return
    const parked = await this.#client.smembers(PARKED)
    if (parked.length === 0) return
    const read = this.#client.pipeline()
    for (const clientId of parked) read.hgetall(sessionKey(clientId))
    const filters = (await read.exec()) ?? []
    const write = this.#client.pipeline()
    const encoded = encodeMessage(KIND_MESSAGE, { ...message, qos: 1, retain: false })
    parked.forEach((clientId, i) => {
      const entries = Object.entries((filters[i]?.[1] ?? {}) as Record<string, string>)
      const subscriptions = new Map(entries.map(([f, q]) => [f, (Number(q) === 1 ? 1 : 0) as QoS]))
      if (grantFor(subscriptions, message) !== 1) return
      write.rpush(queueKey(clientId), encoded).ltrim(queueKey(clientId), -MAX_QUEUED, -1)
    })
    await write.exec()
  }

  // Retained messages.

  async put(message: Message): Promise<void> {
    if (message.payload.length === 0) await this.#client.hdel(RETAINED, message.topic)
    else {
      const qos = Math.min(message.qos, 1) as QoS
      const value = encodeRetained({ ...message, qos, retain: true })
      await this.#client.hset(RETAINED, message.topic, Buffer.from(value))
    }
  }

  async all(): Promise<Message[]> {
    const entries = await this.#client.hgetallBuffer(RETAINED)
    const messages: Message[] = []
    for (const [topic, value] of Object.entries(entries)) {
      const message = decodeRetained(topic, new Uint8Array(value))
      if (message) messages.push(message)
      if (messages.length === MAX_RETAINED) break
    }
    return messages
  }
}

type Multi = ReturnType<Redis['multi']>

function writeSubscriptions(multi: Multi, clientId: string, subscriptions: Map<string, QoS>) {
  multi.del(sessionKey(clientId))
  if (subscriptions.size > 0) {
    multi.hset(sessionKey(clientId), Object.fromEntries(subscriptions))
  }
}

/** kind, QoS (0x80 set for DUP), topic length (2 bytes), topic, payload. */
function encodeMessage(kind: number, message: Message): Buffer {
  const topic = Buffer.from(message.topic)
  const qos = message.qos | (message.dup ? 0x80 : 0)
  const head = Buffer.of(kind, qos, topic.length >> 8, topic.length & 0xff)
  return Buffer.concat([head, topic, message.payload])
}

function decodeMessage(data: Buffer): Message | undefined {
  if (data.length < 4) return undefined
  const qos = (data[1] ?? 0) & 0x7f
  const dup = ((data[1] ?? 0) & 0x80) !== 0
  const length = ((data[2] ?? 0) << 8) | (data[3] ?? 0)
  if ((qos !== 0 && qos !== 1) || data.length < 4 + length) return undefined
  const topic = data.subarray(4, 4 + length).toString()
  const payload = new Uint8Array(data.subarray(4 + length))
  return { topic, payload, qos, retain: false, ...(dup ? { dup } : {}) }
}
