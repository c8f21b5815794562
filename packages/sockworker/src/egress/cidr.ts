/**
 * CIDR blocks, and IP literals as the egress policy reads them. This is our
 * own small matcher rather than `net.BlockList` so that the treatment of
 * IPv4-mapped IPv6 addresses is explicit: a mapped address is always judged
 * as the IPv4 address it carries, because that is where the kernel sends the
 * packets. Parsing and formatting are the shared address module's.
 */
import { type IpAddress, parseIp, unmap } from '@sockworker/sockets/address'

/** A CIDR block: the network's bytes (host bits zero) and the prefix length. */
export interface Cidr extends IpAddress {
  readonly prefix: number
}

/**
 * Parses an IP literal, with or without `[]` brackets and an IPv6 zone
 * (`fe80::1%eth0`, judged without its zone), and returns `undefined` for
 * anything else, host names included. Non-canonical IPv4 forms such as
 * `127.1` are not literals here: they go to the resolver, whose answer is
 * then checked. A mapped address comes out as IPv4 unless `unmap` is false.
 *
 * @example
 * parseLiteral('::ffff:10.0.0.1') // { family: 4, bytes: [10, 0, 0, 1] }
 */
export function parseLiteral(
  text: string,
  options: { unmap?: boolean } = {},
): IpAddress | undefined {
  const inner = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  const parsed = parseIp(inner)
  if (parsed === undefined) return undefined
  const address: IpAddress = { family: parsed.family, bytes: parsed.bytes }
  return options.unmap === false ? address : unmap(address)
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

/** Builds a block from trusted text; for the fixed tables, not for user input. */
export function cidr(text: string): Cidr {
  const [base = '', prefix = ''] = text.split('/')
  const address = parseLiteral(base, { unmap: false })
  if (address === undefined) throw new TypeError(`Invalid built-in CIDR "${text}"`)
  return { ...address, prefix: Number(prefix) }
}
