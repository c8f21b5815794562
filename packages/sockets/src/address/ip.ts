/**
 * IPv4 and IPv6 literals, as text and as bytes. Written here rather than
 * taken from `node:net` so that the code stays portable. Parsing is strict:
 * no leading zeros in IPv4 octets (they could be read as octal, and the
 * PROXY v1 spec forbids them), no short forms such as `127.1`. Formatting
 * follows RFC 5952, as `node:net` does for `remoteAddress`.
 */

/** An IP address as bytes: 4 for IPv4, 16 for IPv6, which may carry a zone (`fe80::1%eth0`). */
export interface IpAddress {
  readonly family: 4 | 6
  readonly bytes: Uint8Array
  /** The IPv6 zone identifier after `%`, when there is one. */
  readonly zone?: string
}

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/
// RFC 6874's "unreserved" characters, and the colon that `node:net` also
// accepts: every zone Node takes for a literal must be one here too, or the
// egress guard would judge as a host name what Node connects to as an address.
const ZONE = /^[0-9A-Za-z._~:-]+$/

/**
 * Parses an IPv4 or IPv6 literal (without brackets; IPv6 may carry a
 * `%zone`), or returns `undefined` for anything else, host names included.
 *
 * @example
 * parseIp('10.0.0.1') // { family: 4, bytes: Uint8Array [10, 0, 0, 1] }
 * parseIp('fe80::1%eth0') // { family: 6, bytes: …, zone: 'eth0' }
 */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) return parseIPv6(text)
  const bytes = parseIPv4(text)
  return bytes === undefined ? undefined : { family: 4, bytes }
}

/**
 * Parses a dotted-quad IPv4 address into 4 bytes, or returns `undefined`.
 *
 * @example
 * parseIPv4('192.168.0.1') // Uint8Array [192, 168, 0, 1]
 * parseIPv4('010.0.0.1') // undefined: a leading zero
 */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const bytes = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!
    if (!DECIMAL_OCTET.test(part)) return undefined
    const value = Number(part)
    if (value > 255) return undefined
    bytes[i] = value
  }
  return bytes
}

/**
 * Parses an IPv6 address (at most one `::`, an optional trailing dotted
 * quad as in `::ffff:1.2.3.4`, an optional `%zone`), or returns `undefined`.
 *
 * @example
 * parseIPv6('2001:db8::1') // { family: 6, bytes: 20 01 0d b8 00 … 00 01 }
 */
export function parseIPv6(text: string): IpAddress | undefined {
  const percent = text.indexOf('%')
  const zone = percent === -1 ? undefined : text.slice(percent + 1)
  if (zone !== undefined && !ZONE.test(zone)) return undefined
  const bytes = parseIPv6Bytes(percent === -1 ? text : text.slice(0, percent))
  if (bytes === undefined) return undefined
  return zone === undefined ? { family: 6, bytes } : { family: 6, bytes, zone }
}

function parseIPv6Bytes(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const compressed = halves.length === 2
  const head = parseGroups(halves[0]!, !compressed)
  const tail = compressed ? parseGroups(halves[1]!, true) : []
  if (head === undefined || tail === undefined) return undefined
  const count = head.length + tail.length
  // `::` stands for at least one group of zeros.
  if (compressed ? count > 7 : count !== 8) return undefined
  const words = [...head, ...new Array<number>(8 - count).fill(0), ...tail]
  const bytes = new Uint8Array(16)
  words.forEach((word, i) => {
    bytes[2 * i] = word >> 8
    bytes[2 * i + 1] = word & 0xff
  })
  return bytes
}

/** The 16-bit groups of one side of `::`; a dotted quad may end the last side. */
function parseGroups(part: string, last: boolean): number[] | undefined {
  if (part === '') return []
  const pieces = part.split(':')
  const words: number[] = []
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!
    if (HEX_GROUP.test(piece)) {
      words.push(Number.parseInt(piece, 16))
    } else if (last && i === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIPv4(piece)
      if (v4 === undefined) return undefined
      words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
    } else {
      return undefined
    }
  }
  return words
}

/**
 * Formats an address as text: a dotted quad, or RFC 5952 IPv6 with its zone.
 *
 * @example
 * formatIp({ family: 6, bytes: parseIPv6('2001:0DB8::0001')!.bytes }) // '2001:db8::1'
 */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) return formatIPv4(address.bytes)
  const text = formatIPv6(address.bytes)
  return address.zone === undefined ? text : `${text}%${address.zone}`
}

/**
 * Formats 4 bytes at `offset` as a dotted quad.
 *
 * @example
 * formatIPv4(Uint8Array.of(127, 0, 0, 1)) // '127.0.0.1'
 */
export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`
}

/**
 * Formats 16 bytes at `offset` as RFC 5952 text: lower case, no leading
 * zeros, the first longest run of two or more zero groups as `::`.
 * IPv4-mapped addresses keep their dotted quad (`::ffff:127.0.0.1`), as
 * RFC 5952 §5 recommends and `node:net` reports them.
 *
 * @example
 * formatIPv6(parseIPv6('2001:0DB8:0:0:0:0:0:0001')!.bytes) // '2001:db8::1'
 */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  if (isMapped(bytes.subarray(offset, offset + 16))) {
    return `::ffff:${formatIPv4(bytes, offset + 12)}`
  }
  const words: number[] = []
  for (let i = 0; i < 8; i++) words.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!)
  const [start, length] = longestZeroRun(words)
  const hex = words.map((word) => word.toString(16))
  if (length < 2) return hex.join(':')
  return `${hex.slice(0, start).join(':')}::${hex.slice(start + length).join(':')}`
}

/** The first longest run of zero words, as `[start, length]`. */
function longestZeroRun(words: number[]): [number, number] {
  let best: [number, number] = [0, 0]
  let start = -1
  for (let i = 0; i <= words.length; i++) {
    if (i < words.length && words[i] === 0) {
      if (start < 0) start = i
    } else if (start >= 0) {
      if (i - start > best[1]) best = [start, i - start]
      start = -1
    }
  }
  return best
}

/**
 * True when 16 bytes are an IPv4-mapped IPv6 address, `::ffff:a.b.c.d`.
 *
 * @example
 * isMapped(parseIPv6('::ffff:10.0.0.1')!.bytes) // true
 */
export function isMapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return false
  return bytes.subarray(0, 10).every((byte) => byte === 0)
}

/**
 * Turns `::ffff:a.b.c.d` into `a.b.c.d`, where the kernel sends its packets,
 * and leaves any other address alone.
 *
 * @example
 * formatIp(unmap(parseIp('::ffff:10.0.0.1')!)) // '10.0.0.1'
 */
export function unmap(address: IpAddress): IpAddress {
  return isMapped(address.bytes) ? { family: 4, bytes: address.bytes.slice(12) } : address
}
