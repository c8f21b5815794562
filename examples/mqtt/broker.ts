/**
 * The broker's live state: sessions with their subscriptions. It lives in
 * module scope, so it is shared by every connection of one replica; run this
 * worker with `replicas = 1` (see the README). Retained messages are kept
 * apart, in the storage binding (retained.ts).
 */
import type { QoS } from './codec.ts'
import { publish as encodePublish } from './packets.ts'
import { matches } from './topics.ts'

/** A message as routed: QoS 2 arrives but is delivered at most at QoS 1. */
export interface Message {
  topic: string
  payload: Uint8Array
  qos: QoS
  retain: boolean
}

/** What the broker needs from a live connection. */
export interface Link {
  send(bytes: Uint8Array): void
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
}

const sessions = new Map<string, Session>()

/**
 * Attaches a connection to its client id's session (§3.1.2.4): a clean
 * session starts empty; otherwise a stored one is resumed. A connection
 * already using the id is closed (§3.1.4-2).
 *
 * @example
 * const { session, present } = openSession('sensor-1', true, link)
 */
export function openSession(
  clientId: string,
  cleanSession: boolean,
  link: Link,
): { session: Session; present: boolean } {
  const existing = sessions.get(clientId)
  existing?.link?.takeOver()
  if (existing && !cleanSession) {
    existing.link = link
    existing.cleanSession = false
    return { session: existing, present: true }
  }
  const session: Session = {
    clientId,
    cleanSession,
    subscriptions: new Map(),
    link,
    nextPacketId: 1,
  }
  sessions.set(clientId, session)
  return { session, present: false }
}

/** Detaches `link`; a clean session is forgotten, a persistent one kept. */
export function closeSession(session: Session, link: Link): void {
  if (session.link !== link) return // taken over: the session is someone else's now
  session.link = undefined
  if (session.cleanSession && sessions.get(session.clientId) === session) {
    sessions.delete(session.clientId)
  }
}

/**
 * Routes a message to every online session with a matching filter, once per
 * session at the highest QoS granted (§3.3.5). Storing a retained message is
 * the caller's job (RetainedStore.put).
 *
 * @example
 * route({ topic: 'a/b', payload, qos: 1, retain: false })
 */
export function route(message: Message): void {
  for (const session of sessions.values()) {
    let best: QoS | undefined
    for (const [filter, qos] of session.subscriptions) {
      if (matches(filter, message.topic) && (best === undefined || qos > best)) best = qos
    }
    // §3.3.1.3: a message sent to an existing subscription has retain 0.
    if (best !== undefined) deliver(session, { ...message, retain: false }, best)
  }
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
    if (matches(filter, message.topic)) deliver(session, { ...message, retain: true }, granted)
  }
}

/** Removes a subscription; unknown filters are fine (§3.10.4). */
export function unsubscribe(session: Session, filter: string): void {
  session.subscriptions.delete(filter)
}

function deliver(session: Session, message: Message, granted: QoS): void {
  if (session.link === undefined) return // offline: this example does not queue
  const qos = Math.min(message.qos, granted) as QoS
  const packetId = qos > 0 ? session.nextPacketId : undefined
  if (packetId !== undefined) session.nextPacketId = (packetId % 0xffff) + 1
  session.link.send(encodePublish({ ...message, qos, ...(packetId ? { packetId } : {}) }))
}
