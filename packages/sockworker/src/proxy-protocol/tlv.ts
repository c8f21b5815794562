/**
 * PROXY v2 type-length-value extensions (spec section 2.2): a type byte, a
 * 16-bit big-endian length, then the value. Parsed generically; the one type
 * the parser acts on is the CRC32C checksum (section 2.2.3).
 */

/** The `PP2_TYPE_CRC32C` TLV type. */
export const TLV_CRC32C = 0x03

/** TLVs in wire order; `offset` is where the value starts in the TLV block. */
export type TlvBlock = Array<{ type: number; value: Uint8Array; offset: number }>

/**
 * Splits the bytes after the address block into TLVs, copying each value, or
 * returns why they do not form whole TLVs.
 *
 * @example
 * parseTlvs(Uint8Array.of(0x02, 0x00, 0x01, 0x61)) // [{ type: 2, value: [0x61], offset: 3 }]
 */
export function parseTlvs(block: Uint8Array): TlvBlock | string {
  const tlvs: TlvBlock = []
  let at = 0
  while (at < block.length) {
    if (block.length - at < 3) {
      return `the TLV at offset ${at} of the TLV block is cut short: ${block.length - at} bytes left, a TLV needs at least 3`
    }
    const type = block[at]!
    const length = (block[at + 1]! << 8) | block[at + 2]!
    const start = at + 3
    if (start + length > block.length) {
      return `TLV 0x${type.toString(16).padStart(2, '0')} claims ${length} bytes but the header has ${block.length - start} left`
    }
    // A copy: callers often reuse or pool the buffer they parsed.
    tlvs.push({ type, value: new Uint8Array(block.subarray(start, start + length)), offset: start })
    at = start + length
  }
  return tlvs
}

/**
 * Writes `tlvs` into `target` at `offset`; returns the offset after them.
 *
 * @example
 * const end = writeTlvs(out, 28, [{ type: 0x02, value: new TextEncoder().encode('example.com') }])
 */
export function writeTlvs(
  target: Uint8Array,
  offset: number,
  tlvs: ReadonlyArray<{ type: number; value: Uint8Array }>,
): number {
  let at = offset
  for (const { type, value } of tlvs) {
    target[at] = type
    target[at + 1] = value.length >> 8
    target[at + 2] = value.length & 0xff
    target.set(value, at + 3)
    at += 3 + value.length
  }
  return at
}

const CRC_TABLE = buildCrcTable()

function buildCrcTable(): Uint32Array {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    // 0x82f63b78 is the Castagnoli polynomial 0x1edc6f41, bit-reversed.
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
}

/**
 * CRC32c (Castagnoli, as in RFC 4960 appendix B), as an unsigned 32-bit integer.
 *
 * @example
 * crc32c(new TextEncoder().encode('123456789')) // 0xe3069283
 */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
