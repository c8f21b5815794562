/**
 * The broker's live state: the sessions connected to this process, with
 * their subscriptions and unacknowledged QoS 1 messages. Persistent sessions
 * whose client left are parked in a `SessionStore` (sessions.ts), and
 * messages reach subscribers through a `Bus`: within this process by
 * default, or through Redis pub/sub so that several replicas and instances
 * serve one broker (redis.ts, `REDIS_URL`). Retained messages are kept
 * apart (retained.ts).
 */
import type { QoS } from './codec.ts'
import type { Message } from './message.ts'
import { publish as encodePublish } from './packets.ts'
import { grantFor, MemorySessions, type SessionStore } from './sessions.ts'

export type { Message } from './message.ts'

/** A message as routed: QoS 2 arrives but is delivered at most at QoS 1. */
/** What the broker needs from a live connection. */
export interface Link {
  send(bytes: Uint8Array): void
  /**
   * Offers a PUBLISH; the link may refuse it (returns false) when its
   * client is too slow. What it does then is its policy (worker.ts).
   */
  offer(bytes: Uint8Array, qos: QoS): boolean
  /** Closes the connection: another one took over its client id. */
  takeOver(): void
}

export interface Session {
  clientId: string
  cleanSession: boolean
  /** Filter → granted QoS (0 or 1). */
  subscriptions: Map<string, QoS>
  link: Link | undefined
  nextPacketId: number
  /** QoS 1 messages sent and not yet acknowledged, by packet id (§4.4). */
  inflight: Map<number, Message>
}

/** How messages and takeovers travel between the processes that serve one broker. */
export interface Bus {
  /** Delivers `message` to every matching session, in every process of the broker. */
  publish(message: Message): Promise<void>
  /** Closes `clientId`'s connection in every other process of the broker. */
  takeOver(clientId: string): Promise<void>
}

const sessions = new Map<string, Session>()
let store: SessionStore = new MemorySessions()
let bus: Bus = {
  publish: async (message) => route(message),
  takeOver: async () => {},
}

/**
 * Replaces the process-local session store and bus, once, before the first
 * connection: `useShared(new RedisShared(url))`.
 *
 * @example
 * useShared({ sessions: redisSessions, bus: redisBus })
 */
export function useShared(shared: { sessions: SessionStore; bus: Bus }): void {
  store = shared.sessions
  bus = shared.bus
}

/**
 * Attaches a connection to its client id's session (§3.1.2.4): a clean
 * session starts empty; otherwise a stored one is resumed, with the
 * messages to send it first (unacknowledged ones again, then those queued
 * while it was away). A connection already using the id, here or in another
 * process, is closed (§3.1.4-2).
 *
 * @example
 * const { session, present, pending } = await openSession('sensor-1', false, link)
 */
export async function openSession(
  clientId: string,
  cleanSession: boolean,
  link: Link,
): Promise<{ session: Session; present: boolean; pending: Message[] }> {
  const existing = sessions.get(clientId)
  // Detached first, so that the old connection's close leaves the session alone.
  const old = existing?.link
  if (existing) existing.link = undefined
  old?.takeOver()
  await bus.takeOver(clientId)
  if (existing && !cleanSession) {
    // Taken over in this process: the session object moves to the new link.
    const pending = unacknowledged(existing)
    existing.link = link
    existing.cleanSession = false
    return { session: existing, present: true, pending }
  }
  const parked = cleanSession ? undefined : await store.resume(clientId)
  if (cleanSession) await store.discard(clientId)
  const session: Session = {
    clientId,
    cleanSession,
    subscriptions: parked?.subscriptions ?? new Map(),
    link,
    nextPacketId: 1,
    inflight: new Map(),
  }
  sessions.set(clientId, session)
  return { session, present: parked !== undefined, pending: parked?.queue ?? [] }
}

/** Sends what a resumed session missed, marked DUP when it was sent before. */
export function resend(session: Session, pending: Message[]): void {
  for (const message of pending) deliver(session, message, 1)
}

/** Detaches `link`; a clean session is forgotten, a persistent one parked with what it has not acknowledged. */
export async function closeSession(session: Session, link: Link): Promise<void> {
  if (session.link !== link) return // taken over: the session is someone else's now
  session.link = undefined
  if (sessions.get(session.clientId) === session) sessions.delete(session.clientId)
  if (session.cleanSession) return
  const queue = unacknowledged(session)
  await store.park(session.clientId, { subscriptions: session.subscriptions, queue })
}

/**
 * Publishes a client's message: to every subscriber of the broker through
 * the bus, and into the queues of parked sessions it matches.
 *
 * @example
 * await publish({ topic: 'a/b', payload, qos: 1, retain: false })
 */
export async function publish(message: Message): Promise<void> {
  // §3.3.1.3: a message sent to an existing subscription has retain 0.
  const routed = { ...message, retain: false }
  await Promise.all([bus.publish(routed), store.enqueue(routed)])
}

/**
 * Routes a message to every session connected to this process with a
 * matching filter, once per session at the highest QoS granted (§3.3.5).
 * The bus calls it for messages from any process.
 *
 * @example
 * route({ topic: 'a/b', payload, qos: 1, retain: false })
 */
export function route(message: Message): void {
  for (const session of sessions.values()) {
    const qos = grantFor(session.subscriptions, message)
    if (qos !== undefined) deliver(session, message, qos)
  }
}

/** Closes the local connection of `clientId`, for a takeover from another process. */
export function takeOverLocal(clientId: string): void {
  sessions.get(clientId)?.link?.takeOver()
}

/**
 * Adds (or replaces, §3.8.4) a subscription; returns the granted QoS, at most 1.
 *
 * @example
 * subscribe(session, 'sensors/#', 2) // 1
 */
export function subscribe(session: Session, filter: string, requested: QoS): QoS {
  const granted = Math.min(requested, 1) as QoS
  session.subscriptions.set(filter, granted)
  saveSubscriptions(session)
  return granted
}

/**
 * Sends the retained messages matching `filter` to the session, retain flag
 * set (§3.3.1.3).
 *
 * @example
 * sendRetained(session, 'status/#', await store.all())
 */
export function sendRetained(session: Session, filter: string, retained: Message[]): void {
  const granted = session.subscriptions.get(filter)
  if (granted === undefined) return
  for (const message of retained) {
    const qos = grantFor(new Map([[filter, granted]]), message)
    if (qos !== undefined) deliver(session, { ...message, retain: true }, qos)
  }
}

/** Removes a subscription; unknown filters are fine (§3.10.4). */
export function unsubscribe(session: Session, filter: string): void {
  session.subscriptions.delete(filter)
  saveSubscriptions(session)
}

/** A PUBACK from the client: the message is delivered, and never resent. */
export function acknowledge(session: Session, packetId: number): void {
  session.inflight.delete(packetId)
}

/** Takes the session's in-flight messages, marked as sent once already. */
function unacknowledged(session: Session): Message[] {
  const messages = [...session.inflight.values()].map((m) => ({ ...m, dup: true }))
  session.inflight.clear()
  return messages
}

function saveSubscriptions(session: Session): void {
  if (session.cleanSession) return
  store.saveSubscriptions(session.clientId, session.subscriptions).catch((error) => {
    console.error(`mqtt: could not save the subscriptions of "${session.clientId}": ${error}`)
  })
}

function deliver(session: Session, message: Message, qos: QoS): void {
  const link = session.link
  if (link === undefined) return
  const packetId = qos > 0 ? session.nextPacketId : undefined
  if (packetId !== undefined) {
    session.nextPacketId = (packetId % 0xffff) + 1
    // Kept until PUBACK, even if the link refuses it: a slow client is
    // closed, and a persistent session gets it again when it comes back.
    session.inflight.set(packetId, { ...message, qos, dup: false })
  }
  const dup = qos > 0 && message.dup === true
  const bytes = encodePublish({ ...message, qos, dup, ...(packetId ? { packetId } : {}) })
  link.offer(bytes, qos)
}
