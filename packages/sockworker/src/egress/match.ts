/**
 * Whether one rule matches a destination. Address rules (classes and CIDRs)
 * look only at addresses and name rules only at names, so a name rule never
 * matches an IP literal and a CIDR never matches a name.
 */

import type { IpAddress } from '@sockworker/sockets/address'
import { inCidr } from './cidr.ts'
import type { AddressClass } from './classify.ts'
import { isSubdomain } from './names.ts'
import type { Rule } from './rules.ts'

/** An address ready for matching: unmapped bytes and their class. */
export interface Destination {
  readonly address: IpAddress
  readonly class: AddressClass
}

/** True when an address rule matches the address and port. */
export function matchesAddress(rule: Rule, destination: Destination, port: number): boolean {
  if (!portMatches(rule, port)) return false
  const target = rule.target
  if (target.kind === 'cidr') return inCidr(destination.address, target.cidr)
  if (target.kind === 'class') return target.class === 'any' || target.class === destination.class
  return false
}

/** True when a name rule matches the (normalized) host name and port. */
export function matchesName(rule: Rule, name: string, port: number): boolean {
  if (!portMatches(rule, port)) return false
  const target = rule.target
  if (target.kind === 'name') return target.name === name
  if (target.kind === 'wildcard') return isSubdomain(name, target.suffix)
  return false
}

function portMatches(rule: Rule, port: number): boolean {
  return rule.ports === undefined || (port >= rule.ports.low && port <= rule.ports.high)
}
