/**
 * PROXY protocol v2: a binary header (spec section 2.2).
 *
 *   12-byte signature | ver_cmd | fam | len (2, big endian) | addresses | TLVs
 *
 * The header is exactly 16 + len bytes, whatever the family says.
 */
import {
  checkPort,
  formatIPv4,
  formatIPv6,
  parseIPv4,
  parseIPv6,
} from '@sockworker/sockets/address'
import { done, hex, invalid } from './result.ts'
import { crc32c, parseTlvs, TLV_CRC32C, type TlvBlock, writeTlvs } from './tlv.ts'
import type { ParseResult, ProxyHeader } from './types.ts'

/** `\r\n\r\n\0\r\nQUIT\n`, which identifies a v2 header. */
export const V2_SIGNATURE = Uint8Array.of(
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
)

/** The longest v2 header: 16 fixed bytes and a 16-bit length. */
export const V2_MAX_LENGTH = 16 + 0xffff

const FIXED_LENGTH = 16
/** Address block length by family: AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX. */
const ADDRESS_LENGTH = [0, 12, 36, 216] as const
const FAMILY_NAME = ['AF_UNSPEC', 'AF_INET', 'AF_INET6', 'AF_UNIX'] as const
/** By family (AF_INET, AF_INET6), then transport (STREAM, DGRAM). */
const PROTOCOL = { 1: ['tcp4', 'udp4'], 2: ['tcp6', 'udp6'] } as const

/**
 * Parses a v2 header; `buffer` must start with the v2 signature. A bad
 * version, command, family or transport is refused as soon as its byte arrives.
 *
 * @example
 * const bytes = encodeProxyHeaderV2({ version: 2, command: 'local', protocol: 'unknown' })
 * parseProxyHeaderV2(bytes) // { status: 'done', header: { …, command: 'local' }, consumed: 16 }
 */
export function parseProxyHeaderV2(buffer: Uint8Array): ParseResult {
  const bad = checkFixedBytes(buffer)
  if (bad !== undefined) return invalid(bad)
  if (buffer.length < FIXED_LENGTH) return { status: 'incomplete' }
  const total = FIXED_LENGTH + ((buffer[14]! << 8) | buffer[15]!)
  if (buffer.length < total) return { status: 'incomplete' }
  return decode(buffer.subarray(0, total))
}

/** Checks bytes 13 and 14 (ver_cmd and fam) once they are there. */
function checkFixedBytes(buffer: Uint8Array): string | undefined {
  const verCmd = buffer[12]
  if (verCmd !== undefined) {
    if (verCmd >> 4 !== 2) {
      return `unsupported version ${verCmd >> 4} (byte 13 is 0x${hex(verCmd)}): expected 2`
    }
    if ((verCmd & 0xf) > 1) {
      return `unsupported command ${verCmd & 0xf} (byte 13 is 0x${hex(verCmd)}): expected 0 (LOCAL) or 1 (PROXY)`
    }
  }
  const fam = buffer[13]
  if (fam !== undefined && (fam >> 4 > 3 || (fam & 0xf) > 2)) {
    return `unsupported address family or transport (byte 14 is 0x${hex(fam)}): expected 0x00, 0x11, 0x12, 0x21, 0x22, 0x31 or 0x32`
  }
  return undefined
}

function decode(header: Uint8Array): ParseResult {
  const command = (header[12]! & 0xf) === 1 ? 'proxy' : 'local'
  const family = (header[13]! >> 4) as 0 | 1 | 2 | 3
  const transport = header[13]! & 0xf
  const body = header.subarray(FIXED_LENGTH)
  const addressLength = ADDRESS_LENGTH[family]
  if (command === 'local' || family === 0 || family === 3 || transport === 0) {
    // Spec 2.2: LOCAL, AF_UNSPEC and (here) AF_UNIX mean "use the real
    // endpoints"; the block is skipped, not judged. TLVs are kept if they parse.
    const block = body.length >= addressLength ? parseTlvs(body.subarray(addressLength)) : []
    const tlvs = typeof block === 'string' ? [] : block
    const result: ProxyHeader = { version: 2, command, protocol: 'unknown', tlvs: publicTlvs(tlvs) }
    return checkCrc(header, FIXED_LENGTH + addressLength, tlvs) ?? done(result, header.length)
  }
  if (body.length < addressLength) {
    return invalid(
      `address block of ${body.length} bytes is too short for ${FAMILY_NAME[family]}: expected at least ${addressLength}`,
    )
  }
  const tlvs = parseTlvs(body.subarray(addressLength))
  if (typeof tlvs === 'string') return invalid(tlvs)
  const result: ProxyHeader = {
    version: 2,
    command,
    protocol: PROTOCOL[family][transport === 1 ? 0 : 1],
    ...decodeAddresses(body, family),
    tlvs: publicTlvs(tlvs),
  }
  return checkCrc(header, FIXED_LENGTH + addressLength, tlvs) ?? done(result, header.length)
}

function decodeAddresses(body: Uint8Array, family: 1 | 2): Partial<ProxyHeader> {
  const size = family === 1 ? 4 : 16
  const format = family === 1 ? formatIPv4 : formatIPv6
  const ports = 2 * size
  return {
    sourceAddress: format(body, 0),
    sourcePort: (body[ports]! << 8) | body[ports + 1]!,
    destinationAddress: format(body, size),
    destinationPort: (body[ports + 2]! << 8) | body[ports + 3]!,
  }
}

/**
 * Spec 2.2.3: with a CRC32C TLV, the checksum of the whole header with that
 * field zeroed must match, or the connection is invalid.
 */
function checkCrc(header: Uint8Array, tlvStart: number, tlvs: TlvBlock): ParseResult | undefined {
  const tlv = tlvs.find((entry) => entry.type === TLV_CRC32C)
  if (tlv === undefined) return undefined
  if (tlv.value.length !== 4) {
    return invalid(`the CRC32C TLV holds ${tlv.value.length} bytes: expected 4`)
  }
  const offset = tlvStart + tlv.offset
  const copy = new Uint8Array(header)
  const view = new DataView(copy.buffer)
  const expected = view.getUint32(offset)
  view.setUint32(offset, 0)
  const actual = crc32c(copy)
  if (actual === expected) return undefined
  return invalid(
    `CRC32C mismatch: the header says 0x${expected.toString(16).padStart(8, '0')}, its bytes give 0x${actual.toString(16).padStart(8, '0')}`,
  )
}

/** Options of `encodeProxyHeaderV2`. */
export interface EncodeV2Options {
  /** Append a CRC32C TLV holding the header's checksum. Default: `false`. */
  crc32c?: boolean
}

/**
 * Encodes `header` as v2. A LOCAL header carries no addresses (AF_UNSPEC), nor
 * does protocol `'unknown'`; `header.tlvs` follow the addresses in order.
 *
 * @throws TypeError for a missing or invalid address.
 * @throws RangeError for a port outside 0-65535, or TLVs past the 65,535-byte limit.
 * @example
 * encodeProxyHeaderV2(
 *   { version: 2, command: 'proxy', protocol: 'tcp6', sourceAddress: '2001:db8::1', sourcePort: 5000,
 *     destinationAddress: '2001:db8::2', destinationPort: 443 },
 *   { crc32c: true },
 * )
 */
export function encodeProxyHeaderV2(
  header: ProxyHeader,
  options: EncodeV2Options = {},
): Uint8Array {
  const { famProto, addresses } = encodeAddresses(header)
  const tlvs = [...(header.tlvs ?? [])]
  if (options.crc32c === true) tlvs.push({ type: TLV_CRC32C, value: new Uint8Array(4) })
  let length = addresses.length
  for (const { type, value } of tlvs) {
    if (value.length > 0xffff) {
      throw new RangeError(
        `Invalid TLV 0x${hex(type)}: its value has ${value.length} bytes, at most 65535 fit`,
      )
    }
    length += 3 + value.length
  }
  if (length > 0xffff) {
    throw new RangeError(
      `Cannot encode a PROXY v2 header of ${length} bytes after the fixed part: at most 65535 fit`,
    )
  }
  const out = new Uint8Array(FIXED_LENGTH + length)
  out.set(V2_SIGNATURE)
  out[12] = header.command === 'local' ? 0x20 : 0x21
  out[13] = famProto
  out[14] = length >> 8
  out[15] = length & 0xff
  out.set(addresses, FIXED_LENGTH)
  writeTlvs(out, FIXED_LENGTH + addresses.length, tlvs)
  // The zeroed CRC TLV was written last, so its value is the last 4 bytes.
  if (options.crc32c === true) new DataView(out.buffer).setUint32(out.length - 4, crc32c(out))
  return out
}

function encodeAddresses(header: ProxyHeader): { famProto: number; addresses: Uint8Array } {
  const { protocol } = header
  if (header.command === 'local' || protocol === 'unknown') {
    return { famProto: 0x00, addresses: new Uint8Array(0) }
  }
  const v4 = protocol === 'tcp4' || protocol === 'udp4'
  const size = v4 ? 4 : 16
  const addresses = new Uint8Array(2 * size + 4)
  addresses.set(toBytes(header.sourceAddress, v4, 'sourceAddress'), 0)
  addresses.set(toBytes(header.destinationAddress, v4, 'destinationAddress'), size)
  const view = new DataView(addresses.buffer)
  view.setUint16(2 * size, checkPort(header.sourcePort, 'sourcePort', true))
  view.setUint16(2 * size + 2, checkPort(header.destinationPort, 'destinationPort', true))
  const family = v4 ? 0x10 : 0x20
  const transport = protocol.startsWith('tcp') ? 0x01 : 0x02
  return { famProto: family | transport, addresses }
}

function toBytes(text: string | undefined, v4: boolean, what: string): Uint8Array {
  const v6 = text === undefined || v4 ? undefined : parseIPv6(text)
  // A zone has no meaning on the wire: the receiver is another host.
  const bytes =
    text === undefined ? undefined : v4 ? parseIPv4(text) : v6?.zone ? undefined : v6?.bytes
  if (bytes === undefined) {
    const family = v4 ? 'IPv4' : 'IPv6'
    throw new TypeError(`Invalid ${what} ${JSON.stringify(text)}: expected an ${family} address`)
  }
  return bytes
}

function publicTlvs(tlvs: TlvBlock): NonNullable<ProxyHeader['tlvs']> {
  return tlvs.map(({ type, value }) => ({ type, value }))
}
