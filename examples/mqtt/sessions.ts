/**
 * Where persistent sessions (clean session = 0) wait while their client is
 * offline: their subscriptions and a bounded queue of the QoS 1 messages
 * that matched meanwhile. `MemorySessions` keeps them in this process;
 * `RedisSessions` (redis.ts) in Redis, so that the client may come back to
 * any instance.
 */

import type { QoS } from './codec.ts'
import type { Message } from './message.ts'
import { matches } from './topics.ts'

/**
 * Messages kept per offline session; past this the oldest are dropped, so a
 * client that never returns costs a bounded amount of memory.
 */
export const MAX_QUEUED = 1000

/** A persistent session while nobody is connected with its client id. */
export interface Parked {
  subscriptions: Map<string, QoS>
  /** In order: the messages not acknowledged before it left, then those that came later. */
  queue: Message[]
}

export interface SessionStore {
  /** Takes the parked session for `clientId` (and forgets it there), or `undefined`. */
  resume(clientId: string): Promise<Parked | undefined>
  /** Parks a persistent session whose client left. */
  park(clientId: string, parked: Parked): Promise<void>
  /** Forgets whatever is kept for `clientId` (a clean-session CONNECT). */
  discard(clientId: string): Promise<void>
  /** Records a live session's subscriptions, so that they outlive its instance. */
  saveSubscriptions(clientId: string, subscriptions: Map<string, QoS>): Promise<void>
  /** Queues `message` for every parked session with a matching filter, at QoS 1 only. */
  enqueue(message: Message): Promise<void>
}

/**
 * The QoS a session with `subscriptions` gets `message` at: the highest
 * granted by a matching filter, capped by the message's; `undefined` if none matches.
 *
 * @example
 * grantFor(new Map([['a/#', 1]]), { topic: 'a/b', payload, qos: 1, retain: false }) // 1
 */
export function grantFor(subscriptions: Map<string, QoS>, message: Message): QoS | undefined {
  let best: QoS | undefined
  for (const [filter, qos] of subscriptions) {
    if (matches(filter, message.topic) && (best === undefined || qos > best)) best = qos
  }
  return best === undefined ? undefined : (Math.min(best, message.qos) as QoS)
}

/** Parked sessions in a Map: one process, gone when it exits. */
export class MemorySessions implements SessionStore {
  #parked = new Map<string, Parked>()

  async resume(clientId: string): Promise<Parked | undefined> {
    const parked = this.#parked.get(clientId)
    this.#parked.delete(clientId)
    return parked
  }

  async park(clientId: string, parked: Parked): Promise<void> {
    this.#parked.set(clientId, { ...parked, queue: parked.queue.slice(-MAX_QUEUED) })
  }

  async discard(clientId: string): Promise<void> {
    this.#parked.delete(clientId)
  }

  async saveSubscriptions(): Promise<void> {
    // A live session's subscriptions are in its object; nothing outlives this process.
  }

  async enqueue(message: Message): Promise<void> {
    if (message.qos === 0) return
    for (const parked of this.#parked.values()) {
      if (grantFor(parked.subscriptions, message) !== 1) continue
      parked.queue.push({ ...message, retain: false, qos: 1 })
      if (parked.queue.length > MAX_QUEUED) parked.queue.shift()
    }
  }
}
