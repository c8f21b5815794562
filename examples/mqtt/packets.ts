/**
 * The packets a broker reads (CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, and
 * the two-byte acknowledgements) and the ones it writes. Every read is
 * bounds-checked: a short or inconsistent packet throws `MalformedPacket`.
 */
import { encodePacket, MalformedPacket, type QoS, type RawPacket, Type } from './codec.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/** Reads fields from a packet body. */
class Cursor {
  #bytes: Uint8Array
  #at = 0

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
  }

  get left(): number {
    return this.#bytes.length - this.#at
  }

  u8(): number {
    const byte = this.#bytes[this.#at]
    if (byte === undefined) throw new MalformedPacket('Packet ends early')
    this.#at++
    return byte
  }

  u16(): number {
    return (this.u8() << 8) | this.u8()
  }

  /** Two-byte length, then that many bytes (§1.5.3 binary data). */
  binary(): Uint8Array {
    const length = this.u16()
    if (length > this.left) throw new MalformedPacket('Field runs past the packet end')
    this.#at += length
    return this.#bytes.slice(this.#at - length, this.#at)
  }

  /** A UTF-8 string (§1.5.3): well-formed, and without U+0000. */
  string(): string {
    let text: string
    try {
      text = utf8.decode(this.binary())
    } catch {
      throw new MalformedPacket('String is not valid UTF-8')
    }
    if (text.includes('\u0000')) throw new MalformedPacket('String contains U+0000')
    return text
  }

  rest(): Uint8Array {
    const out = this.#bytes.slice(this.#at)
    this.#at = this.#bytes.length
    return out
  }
}

export interface Will {
  topic: string
  payload: Uint8Array
  qos: QoS
  retain: boolean
}

export interface Connect {
  /** 4 for MQTT 3.1.1; anything else is answered with return code 1. */
  level: number
  clientId: string
  cleanSession: boolean
  /** Seconds; 0 turns keep-alive off. */
  keepAlive: number
  will: Will | undefined
  username: string | undefined
}

/**
 * Parses CONNECT (§3.1). A wrong protocol name or broken flags throw; a
 * wrong level returns early so the broker can say so (return code 1).
 *
 * @example
 * const connect = parseConnect(packet.body)
 */
export function parseConnect(body: Uint8Array): Connect {
  const cursor = new Cursor(body)
  const name = cursor.string()
  if (name !== 'MQTT' && name !== 'MQIsdp') {
    throw new MalformedPacket(`Protocol name "${name}" is not "MQTT"`)
  }
  const level = cursor.u8()
  const flags = cursor.u8()
  const keepAlive = cursor.u16()
  const base = { level, keepAlive, cleanSession: (flags & 0x02) !== 0 }
  if (level !== 4) return { ...base, clientId: '', will: undefined, username: undefined }
  if (flags & 0x01) throw new MalformedPacket('CONNECT reserved flag is set')
  const willFlag = (flags & 0x04) !== 0
  const willQos = (flags >> 3) & 0x03
  const willRetain = (flags & 0x20) !== 0
  if (willQos === 3) throw new MalformedPacket('Will QoS 3')
  if (!willFlag && (willQos !== 0 || willRetain)) {
    throw new MalformedPacket('Will QoS or retain set without a will')
  }
  if (!(flags & 0x80) && flags & 0x40) throw new MalformedPacket('Password without a user name')
  const clientId = cursor.string()
  const will = willFlag
    ? { topic: cursor.string(), payload: cursor.binary(), qos: willQos as QoS, retain: willRetain }
    : undefined
  const username = flags & 0x80 ? cursor.string() : undefined
  if (flags & 0x40) cursor.binary() // the password: this example accepts anyone
  if (cursor.left !== 0) throw new MalformedPacket('CONNECT has trailing bytes')
  return { ...base, clientId, will, username }
}

export interface Publish {
  topic: string
  payload: Uint8Array
  qos: QoS
  retain: boolean
  dup: boolean
  /** Present for QoS 1 and 2. */
  packetId: number | undefined
}

/**
 * Parses PUBLISH (§3.3); the QoS, retain and dup bits are the header's flags.
 *
 * @example
 * const publish = parsePublish(packet)
 */
export function parsePublish(packet: RawPacket): Publish {
  const cursor = new Cursor(packet.body)
  const qos = ((packet.flags >> 1) & 0x03) as QoS
  const topic = cursor.string()
  const packetId = qos > 0 ? cursor.u16() : undefined
  if (packetId === 0) throw new MalformedPacket('Packet identifier 0')
  return {
    topic,
    qos,
    packetId,
    retain: (packet.flags & 0x01) !== 0,
    dup: (packet.flags & 0x08) !== 0,
    payload: cursor.rest(),
  }
}

/**
 * Parses SUBSCRIBE (§3.8) or, with `withQos: false`, UNSUBSCRIBE (§3.10).
 * Both must carry at least one topic filter.
 *
 * @example
 * const { packetId, filters } = parseSubscribe(packet.body, true)
 */
export function parseSubscribe(
  body: Uint8Array,
  withQos: boolean,
): { packetId: number; filters: { filter: string; qos: QoS }[] } {
  const cursor = new Cursor(body)
  const packetId = cursor.u16()
  const filters: { filter: string; qos: QoS }[] = []
  while (cursor.left > 0) {
    const filter = cursor.string()
    const qos = withQos ? cursor.u8() : 0
    if (qos > 2) throw new MalformedPacket(`Requested QoS ${qos}`)
    filters.push({ filter, qos: qos as QoS })
  }
  if (filters.length === 0) throw new MalformedPacket('No topic filters')
  return { packetId, filters }
}

/** Reads the packet identifier of PUBACK, PUBREL and friends. */
export function parsePacketId(body: Uint8Array): number {
  if (body.length !== 2) throw new MalformedPacket('Acknowledgement is not 2 bytes')
  return new Cursor(body).u16()
}

/** CONNACK (§3.2): return code 0 accepted, 1 bad protocol level, 2 bad client id. */
export function connack(sessionPresent: boolean, returnCode: number): Uint8Array {
  return encodePacket(Type.CONNACK, 0, [sessionPresent ? 1 : 0, returnCode])
}

/** PUBACK, PUBREC, PUBCOMP and UNSUBACK: the type and a packet identifier. */
export function ack(type: number, packetId: number): Uint8Array {
  return encodePacket(type, 0, [packetId >> 8, packetId & 0xff])
}

/** SUBACK (§3.9): one code per filter, the granted QoS or 0x80 for failure. */
export function suback(packetId: number, codes: number[]): Uint8Array {
  return encodePacket(Type.SUBACK, 0, [packetId >> 8, packetId & 0xff, ...codes])
}

export const pingresp = encodePacket(Type.PINGRESP, 0, [])

/** PUBLISH as the broker sends it. */
export function publish(message: {
  topic: string
  payload: Uint8Array
  qos: QoS
  retain: boolean
  packetId?: number
  /** Set on a redelivery of a QoS 1 message (§3.3.1.1). */
  dup?: boolean
}): Uint8Array {
  const topic = encoder.encode(message.topic)
  const id = message.qos > 0 ? 2 : 0
  const body = new Uint8Array(2 + topic.length + id + message.payload.length)
  body.set([topic.length >> 8, topic.length & 0xff])
  body.set(topic, 2)
  if (id) body.set([(message.packetId ?? 1) >> 8, (message.packetId ?? 1) & 0xff], 2 + topic.length)
  body.set(message.payload, 2 + topic.length + id)
  const flags = (message.dup ? 8 : 0) | (message.qos << 1) | (message.retain ? 1 : 0)
  return encodePacket(Type.PUBLISH, flags, body)
}
