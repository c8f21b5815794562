/**
 * A message as the broker routes it. Its own module so that the session
 * store (sessions.ts) and retained messages (retained.ts) can hold messages
 * without importing the broker, which imports them.
 */
import type { QoS } from './codec.ts'

/** A message as routed: QoS 2 arrives but is delivered at most at QoS 1. */
export interface Message {
  topic: string
  payload: Uint8Array
  qos: QoS
  retain: boolean
  /** Sent before and not acknowledged: a redelivery carries DUP (§3.3.1.1). */
  dup?: boolean
}
