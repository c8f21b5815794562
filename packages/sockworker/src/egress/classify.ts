/**
 * Address classes, the words an egress policy uses for whole ranges.
 * `public` is defined by exclusion: a unicast address in no other class and
 * in no special-purpose range, so a range we forgot errs towards "public"
 * only if it is routable on the internet anyway.
 */
import type { IpAddress } from '@sockworker/sockets/address'
import { type Cidr, cidr, inCidr, parseLiteral } from './cidr.ts'

/** The class of an address; `special` covers ranges no worker should reach. */
export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'special'

// Order matters only for overlaps, and there are none: each range has one class.
const TABLE: ReadonlyArray<readonly [Cidr, AddressClass]> = [
  // IPv4, RFC 6890
  ['0.0.0.0/8', 'special'], // "this network"; 0.0.0.0 reaches loopback on Linux
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'private'], // CGNAT, RFC 6598
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'], // includes cloud metadata at 169.254.169.254
  ['172.16.0.0/12', 'private'],
  ['192.0.2.0/24', 'special'], // documentation
  ['192.168.0.0/16', 'private'],
  ['198.51.100.0/24', 'special'], // documentation
  ['203.0.113.0/24', 'special'], // documentation
  ['224.0.0.0/4', 'special'], // multicast
  ['240.0.0.0/4', 'special'], // reserved, and 255.255.255.255 broadcast
  // IPv6, RFC 6890; IPv4-mapped addresses never get here (see parseIp)
  ['::/128', 'special'], // unspecified; like 0.0.0.0 it reaches loopback
  ['::1/128', 'loopback'],
  ['fc00::/7', 'private'], // unique local
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'special'], // multicast
  ['2001:db8::/32', 'special'], // documentation
  // These carry an IPv4 address inside; through a translator they could reach
  // a private one, so they are not "public".
  ['::/96', 'special'], // IPv4-compatible (deprecated)
  ['64:ff9b::/96', 'special'], // NAT64
  ['2002::/16', 'special'], // 6to4
  ['192.0.0.0/24', 'special'], // IETF protocol assignments
  ['198.18.0.0/15', 'special'], // benchmarking
].map(([block, kind]) => [cidr(block as string), kind as AddressClass] as const)

/** Classifies parsed bytes; IPv4-mapped addresses must already be unmapped. */
export function classifyAddress(address: IpAddress): AddressClass {
  for (const [block, kind] of TABLE) if (inCidr(address, block)) return kind
  return 'public'
}

/**
 * Classifies an IP literal. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`)
 * gets the class of the IPv4 address it carries.
 *
 * @example
 * classify('10.1.2.3') // 'private'
 * classify('::ffff:127.0.0.1') // 'loopback'
 * classify('8.8.8.8') // 'public'
 */
export function classify(ip: string): AddressClass {
  const address = parseLiteral(ip)
  if (address === undefined) {
    throw new TypeError(`Cannot classify "${ip}": expected an IPv4 or IPv6 address`)
  }
  return classifyAddress(address)
}
