/**
 * IPv4 and IPv6 addresses as text and as bytes, for the PROXY protocol. Written
 * here rather than taken from `node:net` so that the parser stays portable.
 * Parsing is strict (the PROXY v1 spec forbids leading zeros in IPv4 octets);
 * formatting follows RFC 5952, as `node:net` does for `remoteAddress`.
 */

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

/**
 * Parses a dotted-quad IPv4 address into 4 bytes, or returns `undefined`.
 * Leading zeros are refused, as they could be read as octal.
 *
 * @example
 * parseIPv4('192.168.0.1') // Uint8Array [192, 168, 0, 1]
 * parseIPv4('010.0.0.1') // undefined
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
 * Parses an IPv6 address (with at most one `::` and an optional trailing
 * dotted quad, as in `::ffff:1.2.3.4`) into 16 bytes, or returns `undefined`.
 * Zone identifiers (`fe80::1%eth0`) are refused: they have no meaning on the wire.
 *
 * @example
 * parseIPv6('2001:db8::1') // 16 bytes: 20 01 0d b8 00 … 00 01
 */
export function parseIPv6(text: string): Uint8Array | undefined {
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
 * Formats 4 bytes at `offset` as a dotted quad.
 *
 * @example
 * formatIPv4(Uint8Array.of(127, 0, 0, 1)) // '127.0.0.1'
 */
export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`
}

/**
 * Formats 16 bytes at `offset` as RFC 5952 text: lower case, no leading zeros,
 * the longest run of two or more zero groups as `::`. IPv4-mapped addresses
 * keep their dotted quad (`::ffff:127.0.0.1`), as `node:net` reports them.
 *
 * @example
 * formatIPv6(parseIPv6('2001:0DB8:0:0:0:0:0:0001')!) // '2001:db8::1'
 */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const words: number[] = []
  for (let i = 0; i < 8; i++) words.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!)
  if (words.slice(0, 5).every((word) => word === 0) && words[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes, offset + 12)}`
  }
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
 * Checks a port given to an encoder: a caller's mistake, so it throws.
 *
 * @example
 * checkPort(443, 'destinationPort') // 443
 */
export function checkPort(port: number | undefined, what: string): number {
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Invalid ${what} ${JSON.stringify(port)}: expected an integer from 0 to 65535`,
    )
  }
  return port
}
