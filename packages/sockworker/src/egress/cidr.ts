/**
 * IP literals as bytes, and CIDR blocks over them. This is our own small
 * matcher rather than `net.BlockList` so that the treatment of IPv4-mapped
 * IPv6 addresses is explicit: a mapped address is always judged as the IPv4
 * address it carries, because that is where the kernel sends the packets.
 */
import { isIP } from 'node:net'

/** A parsed IP address. IPv4-mapped IPv6 addresses come out as family 4. */
export interface IpAddress {
  readonly family: 4 | 6
  readonly bytes: Uint8Array
}

/** A CIDR block: the network's bytes (host bits zero) and the prefix length. */
export interface Cidr extends IpAddress {
  readonly prefix: number
}

/**
 * Parses an IP literal, with or without `[]` brackets and an IPv6 zone
 * (`fe80::1%eth0`), and returns `undefined` for anything else, host names
 * included. Non-canonical IPv4 forms such as `127.1` are not literals here:
 * they go to the resolver, whose answer is then checked.
 *
 * @example
 * parseIp('::ffff:10.0.0.1') // { family: 4, bytes: [10, 0, 0, 1] }
 */
export function parseIp(text: string, options: { unmap?: boolean } = {}): IpAddress | undefined {
  const inner = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  const family = isIP(inner)
  if (family === 4) return { family: 4, bytes: v4Bytes(inner) }
  if (family !== 6) return undefined
  const zone = inner.indexOf('%')
  const bytes = v6Bytes(zone === -1 ? inner : inner.slice(0, zone))
  const address: IpAddress = { family: 6, bytes }
  return options.unmap === false ? address : unmap(address)
}

/** True when the bytes are `::ffff:a.b.c.d`. */
export function isMapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return false
  return bytes.subarray(0, 10).every((byte) => byte === 0)
}

/** Turns `::ffff:a.b.c.d` into `a.b.c.d`, and leaves any other address alone. */
export function unmap(address: IpAddress): IpAddress {
  return isMapped(address.bytes) ? { family: 4, bytes: address.bytes.slice(12) } : address
}

/**
 * True when `address` lies in `block`. Families must match: an IPv6 block
 * never matches an IPv4 address, mapped or not.
 */
export function inCidr(address: IpAddress, block: Cidr): boolean {
  if (address.family !== block.family) return false
  const whole = block.prefix >> 3
  for (let i = 0; i < whole; i++) if (address.bytes[i] !== block.bytes[i]) return false
  const rest = block.prefix & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return ((address.bytes[whole] ?? 0) & mask) === ((block.bytes[whole] ?? 0) & mask)
}

/** The block's network with its host bits cleared, used to suggest a fix. */
export function network(address: IpAddress, prefix: number): Cidr {
  const bytes = address.bytes.slice()
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    const i = bit >> 3
    bytes[i] = (bytes[i] ?? 0) & ~(0x80 >> (bit & 7))
  }
  return { family: address.family, bytes, prefix }
}

/**
 * Formats bytes as an address: dotted IPv4, or IPv6 with the longest run of
 * zero groups compressed (RFC 5952).
 */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) return address.bytes.join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2)
    groups.push(((address.bytes[i] ?? 0) << 8) | (address.bytes[i + 1] ?? 0))
  let best = { start: -1, length: 0 }
  for (let i = 0; i < 8; ) {
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i }
    i = j === i ? i + 1 : j
  }
  const hex = groups.map((group) => group.toString(16))
  if (best.start === -1) return hex.join(':')
  const head = hex.slice(0, best.start).join(':')
  const tail = hex.slice(best.start + best.length).join(':')
  return `${head}::${tail}`
}

/** Builds a block from trusted text; for the fixed tables, not for user input. */
export function cidr(text: string): Cidr {
  const [base = '', prefix = ''] = text.split('/')
  const address = parseIp(base, { unmap: false })
  if (address === undefined) throw new TypeError(`Invalid built-in CIDR "${text}"`)
  return { ...address, prefix: Number(prefix) }
}

function v4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.'), Number)
}

/** Expects text that `isIP` accepted as IPv6, without a zone. */
function v6Bytes(text: string): Uint8Array {
  const [head = '', tail] = text.split('::')
  const left = groupsOf(head)
  const right = tail === undefined ? [] : groupsOf(tail)
  const zeros = new Array<number>(8 - left.length - right.length).fill(0)
  const bytes = new Uint8Array(16)
  ;[...left, ...zeros, ...right].forEach((group, i) => {
    bytes[2 * i] = group >> 8
    bytes[2 * i + 1] = group & 0xff
  })
  return bytes
}

function groupsOf(part: string): number[] {
  if (part === '') return []
  return part.split(':').flatMap((piece) => {
    if (!piece.includes('.')) return [Number.parseInt(piece, 16)]
    const [a = 0, b = 0, c = 0, d = 0] = v4Bytes(piece)
    return [(a << 8) | b, (c << 8) | d]
  })
}
