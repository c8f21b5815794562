/**
 * Just enough HTTP/3 (RFC 9114) and QPACK (RFC 9204) to talk to ngtcp2's
 * example peers, which speak only ALPN "h3": a control stream with empty
 * SETTINGS, and one request or response whose header fields come from
 * QPACK's static table or are literals. No dynamic table: we advertise none.
 */

const encoder = new TextEncoder()

/** A QUIC variable-length integer (RFC 9000 §16). */
export function varint(value: number): Uint8Array {
  if (value < 0x40) return Uint8Array.of(value)
  if (value < 0x4000) return Uint8Array.of(0x40 | (value >> 8), value & 0xff)
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value | 0x80000000)
  return out
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

function frame(type: number, payload: Uint8Array): Uint8Array {
  return concat(varint(type), varint(payload.byteLength), payload)
}

/** The start of a control stream: stream type 0x00, then an empty SETTINGS frame. */
export const controlStream = concat(varint(0x00), frame(0x04, new Uint8Array(0)))

/** A literal field line with a static name reference (RFC 9204 §4.5.4), no Huffman. */
function literal(nameIndex: number, value: string): Uint8Array {
  const bytes = encoder.encode(value)
  if (nameIndex > 15 || bytes.byteLength > 127) throw new RangeError('too long for this encoder')
  return concat(Uint8Array.of(0x50 | nameIndex, bytes.byteLength), bytes)
}

/** An indexed field line from the static table (RFC 9204 §4.5.2). */
const indexed = (index: number) => Uint8Array.of(0xc0 | index)

/** HEADERS for `GET https://authority/path` (static 17 :method GET, 23 :scheme https). */
export function getRequest(authority: string, path: string): Uint8Array {
  const fields = concat(
    Uint8Array.of(0, 0), // Required Insert Count 0, Base 0
    indexed(17),
    indexed(23),
    literal(0, authority),
    path === '/' ? indexed(1) : literal(1, path),
  )
  return frame(0x01, fields)
}

/** HEADERS `:status 200` (static 25), then DATA with `body`. */
export function okResponse(body: string): Uint8Array {
  return concat(
    frame(0x01, concat(Uint8Array.of(0, 0), indexed(25))),
    frame(0x00, encoder.encode(body)),
  )
}

export interface Frame {
  type: number
  payload: Uint8Array
}

function readVarint(bytes: Uint8Array, offset: number): [number, number] {
  const first = bytes[offset]!
  const length = 1 << (first >> 6)
  let value = first & 0x3f
  for (let i = 1; i < length; i++) value = value * 256 + bytes[offset + i]!
  return [value, offset + length]
}

/** Splits a request or response stream into its frames. */
export function frames(bytes: Uint8Array): Frame[] {
  const out: Frame[] = []
  let offset = 0
  while (offset < bytes.byteLength) {
    const [type, afterType] = readVarint(bytes, offset)
    const [length, start] = readVarint(bytes, afterType)
    out.push({ type, payload: bytes.subarray(start, start + length) })
    offset = start + length
  }
  return out
}

/**
 * The `:status` of a response's HEADERS, from its first field line: an
 * indexed static entry (RFC 9204 Appendix A: 24–28), or a literal whose
 * name is static entry 24 and whose value is not Huffman-coded.
 */
export function status(headers: Uint8Array): number | undefined {
  const staticStatus: Record<number, number> = { 24: 103, 25: 200, 26: 304, 27: 404, 28: 503 }
  const line = headers[2]
  if (line === undefined) return undefined
  if ((line & 0xc0) === 0xc0 && (line & 0x3f) !== 0x3f) return staticStatus[line & 0x3f]
  if ((line & 0xf0) !== 0x50) return undefined
  let offset = 3
  const index = (line & 0x0f) === 0x0f ? 15 + headers[offset++]! : line & 0x0f
  const length = headers[offset++]!
  if (index !== 24 || (length & 0x80) !== 0) return undefined
  return Number(new TextDecoder().decode(headers.subarray(offset, offset + length)))
}
