/** One application message as the broker routes it, between every part of the example. */
import type { QoS } from './codec.ts'

export interface Message {
  topic: string
  payload: Uint8Array
  qos: QoS
  retain: boolean
  /** Sent before and not acknowledged: a redelivery carries DUP (§3.3.1.1). */
  dup?: boolean
}
