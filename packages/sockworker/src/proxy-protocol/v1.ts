/**
 * PROXY protocol v1: one line of US-ASCII text (spec section 2.1).
 *
 *   PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n
 *   PROXY UNKNOWN\r\n
 */
import { checkPort, formatIPv6, parseIPv4, parseIPv6 } from '@sockworker/sockets/address'
import { done, hex, invalid } from './result.ts'
import type { ParseResult, ProxyHeader } from './types.ts'

/** "PROXY", which identifies a v1 header. */
export const V1_SIGNATURE = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59)

/** The longest v1 line, CRLF included ("PROXY UNKNOWN" + two full IPv6 addresses and ports). */
export const V1_MAX_LENGTH = 107

const CR = 0x0d
const LF = 0x0a
const SPACE = 0x20
const PORT = /^(?:0|[1-9][0-9]{0,4})$/

/**
 * Parses a v1 header; `buffer` must start with "PROXY". Reads no further than
 * the CRLF, and refuses a line that has none within 107 bytes.
 *
 * @example
 * parseProxyHeaderV1(new TextEncoder().encode('PROXY UNKNOWN\r\nhello'))
 * // { status: 'done', header: { version: 1, command: 'proxy', protocol: 'unknown' }, consumed: 15 }
 */
export function parseProxyHeaderV1(buffer: Uint8Array): ParseResult {
  if (buffer.length > 5 && buffer[5] !== SPACE) {
    return invalid(`expected a space after "PROXY", got byte 0x${hex(buffer[5]!)}`)
  }
  // The CRLF must end by the 107th byte, so a CR can be at index 105 at most.
  const limit = Math.min(buffer.length, V1_MAX_LENGTH - 1)
  for (let i = 0; i < limit; i++) {
    const byte = buffer[i]!
    if (byte === CR) {
      // Spec section 2.1: a lone CR or LF must not end the line.
      if (i + 1 === buffer.length) break
      if (buffer[i + 1] !== LF) return invalid(`expected a line feed after the carriage return`)
      return parseLine(String.fromCharCode(...buffer.subarray(0, i)), i + 2)
    }
    if (byte === LF) return invalid('expected CRLF at the end of the line, got a lone line feed')
    if (byte < 0x20 || byte > 0x7e) {
      return invalid(`expected US-ASCII text, got byte 0x${hex(byte)} at offset ${i}`)
    }
  }
  if (buffer.length >= V1_MAX_LENGTH) {
    return invalid(`expected CRLF within the first ${V1_MAX_LENGTH} bytes of the v1 header`)
  }
  return { status: 'incomplete' }
}

function parseLine(line: string, consumed: number): ParseResult {
  const fields = line.split(' ')
  const protocol = fields[1] ?? ''
  if (protocol === 'UNKNOWN') {
    // Spec: the receiver must ignore anything between UNKNOWN and the CRLF.
    return done({ version: 1, command: 'proxy', protocol: 'unknown' }, consumed)
  }
  if (protocol !== 'TCP4' && protocol !== 'TCP6') {
    return invalid(
      `unsupported protocol ${JSON.stringify(protocol)}: expected TCP4, TCP6 or UNKNOWN`,
    )
  }
  if (fields.length !== 6) {
    return invalid(
      `expected "PROXY ${protocol} <source> <destination> <source port> <destination port>" ` +
        `separated by single spaces, got ${JSON.stringify(line)}`,
    )
  }
  const [, , source, destination, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ]
  const family = protocol === 'TCP4' ? 'IPv4' : 'IPv6'
  const sourceAddress = canonicalAddress(source, family)
  const destinationAddress = canonicalAddress(destination, family)
  if (sourceAddress === undefined) return badAddress('source', source, protocol, family)
  if (destinationAddress === undefined) {
    return badAddress('destination', destination, protocol, family)
  }
  if (!PORT.test(sourcePort) || Number(sourcePort) > 65535) return badPort('source', sourcePort)
  if (!PORT.test(destinationPort) || Number(destinationPort) > 65535) {
    return badPort('destination', destinationPort)
  }
  const header: ProxyHeader = {
    version: 1,
    command: 'proxy',
    protocol: protocol === 'TCP4' ? 'tcp4' : 'tcp6',
    sourceAddress,
    sourcePort: Number(sourcePort),
    destinationAddress,
    destinationPort: Number(destinationPort),
  }
  return done(header, consumed)
}

/** The address in canonical form, so that v1 and v2 report the same text for one address. */
function canonicalAddress(text: string, family: 'IPv4' | 'IPv6'): string | undefined {
  if (family === 'IPv4') return parseIPv4(text) === undefined ? undefined : text
  // A zone has no meaning on the wire: the receiver is another host.
  const address = parseIPv6(text)
  return address === undefined || address.zone !== undefined ? undefined : formatIPv6(address.bytes)
}

function badAddress(which: string, text: string, protocol: string, family: string): ParseResult {
  return invalid(
    `invalid ${which} address ${JSON.stringify(text)}: ${protocol} expects an ${family} address`,
  )
}

function badPort(which: string, text: string): ParseResult {
  return invalid(
    `invalid ${which} port ${JSON.stringify(text)}: expected a decimal integer from 0 to 65535 without leading zeros`,
  )
}

/**
 * Encodes `header` as a v1 line. A LOCAL header, or one with protocol
 * `'unknown'`, becomes `PROXY UNKNOWN\r\n`, as HAProxy sends for health checks.
 *
 * @throws TypeError for UDP (v1 carries TCP only) or for a missing or invalid address.
 * @throws RangeError for a port outside 0-65535.
 * @example
 * encodeProxyHeaderV1({
 *   version: 1, command: 'proxy', protocol: 'tcp4',
 *   sourceAddress: '10.0.0.1', sourcePort: 5000, destinationAddress: '10.0.0.2', destinationPort: 80,
 * }) // bytes of "PROXY TCP4 10.0.0.1 10.0.0.2 5000 80\r\n"
 */
export function encodeProxyHeaderV1(header: ProxyHeader): Uint8Array {
  const { protocol } = header
  if (header.command === 'local' || protocol === 'unknown') return ascii('PROXY UNKNOWN\r\n')
  if (protocol !== 'tcp4' && protocol !== 'tcp6') {
    throw new TypeError(
      `Cannot encode protocol "${protocol}" as PROXY v1: v1 carries tcp4 and tcp6 only; use v2`,
    )
  }
  const family = protocol === 'tcp4' ? 'IPv4' : 'IPv6'
  const source = encodeAddress(header.sourceAddress, family, 'sourceAddress')
  const destination = encodeAddress(header.destinationAddress, family, 'destinationAddress')
  const sourcePort = checkPort(header.sourcePort, 'sourcePort', true)
  const destinationPort = checkPort(header.destinationPort, 'destinationPort', true)
  const name = protocol.toUpperCase()
  return ascii(`PROXY ${name} ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`)
}

function encodeAddress(text: string | undefined, family: 'IPv4' | 'IPv6', what: string): string {
  const canonical = text === undefined ? undefined : canonicalAddress(text, family)
  if (canonical === undefined) {
    throw new TypeError(`Invalid ${what} ${JSON.stringify(text)}: expected an ${family} address`)
  }
  return canonical
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0))
}
