/**
 * MQTT 3.1.1 wire format: the fixed header, the variable-length "remaining
 * length", and the packets a broker reads and writes. Section numbers refer
 * to the OASIS MQTT 3.1.1 specification.
 */

/** Control packet types (§2.2.1). */
export const Type = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const

export type QoS = 0 | 1 | 2

/**
 * Anything that breaks the protocol. MQTT's rule (§4.8) is to close the
 * network connection, so the worker catches this and closes.
 *
 * @example
 * throw new MalformedPacket('Remaining length is longer than 4 bytes')
 */
export class MalformedPacket extends Error {
  override name = 'MalformedPacket'
}

/** One packet as framed: its type, the fixed header's flags and the rest. */
export interface RawPacket {
  type: number
  flags: number
  body: Uint8Array
}

/**
 * Splits a byte stream into packets. TCP delivers arbitrary chunks, so bytes
 * wait here until a whole packet has arrived.
 *
 * @example
 * const reader = new PacketReader(256 * 1024)
 * for (const packet of reader.push(chunk)) handle(packet)
 */
export class PacketReader {
  #buffer = new Uint8Array(0)
  #maxBytes: number

  /** `maxBytes`: the largest remaining length accepted; bigger packets are malformed. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** Adds a chunk and returns every packet it completes. Throws `MalformedPacket`. */
  push(chunk: Uint8Array): RawPacket[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length)
    joined.set(this.#buffer)
    joined.set(chunk, this.#buffer.length)
    const packets: RawPacket[] = []
    let offset = 0
    for (;;) {
      const header = joined[offset]
      const length = decodeRemainingLength(joined, offset + 1)
      if (header === undefined || length === undefined) break
      if (length.value > this.#maxBytes) {
        throw new MalformedPacket(`Packet of ${length.value} bytes exceeds ${this.#maxBytes}`)
      }
      const start = offset + 1 + length.bytes
      if (joined.length < start + length.value) break
      const type = header >> 4
      const flags = header & 0x0f
      checkFlags(type, flags)
      packets.push({ type, flags, body: joined.slice(start, start + length.value) })
      offset = start + length.value
    }
    this.#buffer = joined.slice(offset)
    return packets
  }
}

/**
 * Decodes the remaining length at `offset` (§2.2.3): 7 bits a byte, high
 * bit "more follows", at most 4 bytes. `undefined` means "need more bytes".
 *
 * @example
 * decodeRemainingLength(Uint8Array.of(0xc1, 0x02), 0) // { value: 321, bytes: 2 }
 */
export function decodeRemainingLength(
  bytes: Uint8Array,
  offset: number,
): { value: number; bytes: number } | undefined {
  let value = 0
  for (let i = 0; i < 4; i++) {
    const byte = bytes[offset + i]
    if (byte === undefined) return undefined
    value += (byte & 0x7f) * 128 ** i
    if ((byte & 0x80) === 0) return { value, bytes: i + 1 }
  }
  throw new MalformedPacket('Remaining length is longer than 4 bytes')
}

/**
 * Encodes a remaining length (§2.2.3).
 *
 * @example
 * encodeRemainingLength(321) // [0xc1, 0x02]
 */
export function encodeRemainingLength(value: number): number[] {
  const out: number[] = []
  do {
    let byte = value % 128
    value = Math.floor(value / 128)
    if (value > 0) byte |= 0x80
    out.push(byte)
  } while (value > 0)
  return out
}

/** The fixed header's reserved flags must be exactly these (§2.2.2). */
function checkFlags(type: number, flags: number): void {
  if (type === Type.PUBLISH) {
    if ((flags & 0b0110) === 0b0110) throw new MalformedPacket('PUBLISH with QoS 3')
    return
  }
  const expected = type === Type.PUBREL || type === Type.SUBSCRIBE || type === Type.UNSUBSCRIBE
  if (type < Type.CONNECT || type > Type.DISCONNECT) {
    throw new MalformedPacket(`Unknown packet type ${type}`)
  }
  if (flags !== (expected ? 0b0010 : 0)) {
    throw new MalformedPacket(`Packet type ${type} has reserved flags ${flags}`)
  }
}

/** Writes a packet: fixed header, remaining length, body. */
export function encodePacket(type: number, flags: number, body: ArrayLike<number>): Uint8Array {
  const length = encodeRemainingLength(body.length)
  const out = new Uint8Array(1 + length.length + body.length)
  out[0] = (type << 4) | flags
  out.set(length, 1)
  out.set(body, 1 + length.length)
  return out
}
