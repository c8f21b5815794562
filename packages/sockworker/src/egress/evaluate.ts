/**
 * The decision itself, as plain functions over a parsed rule set, shared by
 * `EgressPolicy` and the `lookup` function it hands to node:net. Deny rules
 * win over allow rules; a connection passes when nothing denies it and
 * something allows it.
 */

import { parseLiteral } from './cidr.ts'
import { classifyAddress } from './classify.ts'
import { matchesAddress, matchesName } from './match.ts'
import { normalizeName } from './names.ts'
import {
  addressReason,
  destinationLabel,
  nameDeniedReason,
  type Refusal,
  resolvedReason,
} from './reason.ts'
import type { Rule } from './rules.ts'

/** A parsed policy. */
export interface RuleSet {
  readonly allow: readonly Rule[]
  readonly deny: readonly Rule[]
}

/** The decision, with every passing address, in the order given. */
export type Outcome =
  | { readonly allowed: true; readonly addresses: readonly string[] }
  | { readonly allowed: false; readonly reason: string }

/** The reason a deny rule refuses the name, or undefined. Call it before resolving. */
export function nameDenial(rules: RuleSet, host: string, port: number): string | undefined {
  const name = normalizeName(host)
  const rule = rules.deny.find((deny) => matchesName(deny, name, port))
  return rule === undefined ? undefined : nameDeniedReason(destinationLabel(host, port), rule)
}

/**
 * Judges an IP literal. With `hostname`, the address is an answer for that
 * name: name rules apply as they do in `evaluateAnswers`.
 */
export function evaluateAddress(
  rules: RuleSet,
  ip: string,
  port: number,
  hostname?: string,
): Outcome {
  if (hostname !== undefined) return evaluateAnswers(rules, hostname, port, [ip])
  const refusal = judge(rules, { ip, port, trusted: false })
  if (refusal === undefined) return { allowed: true, addresses: [unbracket(ip)] }
  return { allowed: false, reason: addressReason(destinationLabel(ip, port), refusal, rules.allow) }
}

/**
 * Judges the answers for a host name. An address passes when no address
 * rule denies it and either an address rule or a name rule allows it: an
 * explicit name allow trusts the name's answers, except denied ones.
 */
export function evaluateAnswers(
  rules: RuleSet,
  host: string,
  port: number,
  answers: readonly string[],
): Outcome {
  const denied = nameDenial(rules, host, port)
  if (denied !== undefined) return { allowed: false, reason: denied }
  const name = normalizeName(host)
  const trusted = rules.allow.some((allow) => matchesName(allow, name, port))
  const addresses: string[] = []
  const refusals: Refusal[] = []
  for (const answer of answers) {
    const refusal = judge(rules, { ip: answer, port, trusted, host })
    if (refusal === undefined) addresses.push(unbracket(answer))
    else refusals.push(refusal)
  }
  if (addresses.length > 0) return { allowed: true, addresses }
  const reason = resolvedReason(destinationLabel(host, port), refusals, rules.allow)
  return { allowed: false, reason }
}

/** One address to judge; `trusted` when a name rule allows the name it answers for. */
interface Answer {
  readonly ip: string
  readonly port: number
  readonly trusted: boolean
  readonly host?: string
}

function judge(rules: RuleSet, { ip, port, trusted, host }: Answer): Refusal | undefined {
  const address = parseLiteral(ip)
  if (address === undefined) {
    const of = host === undefined ? '' : ` as an answer for "${host}"`
    throw new TypeError(`Invalid IP address "${ip}"${of}: expected an IPv4 or IPv6 literal`)
  }
  const destination = { address, class: classifyAddress(address) }
  const deniedBy = rules.deny.find((deny) => matchesAddress(deny, destination, port))
  const shown = unbracket(ip)
  if (deniedBy !== undefined) return { address: shown, class: destination.class, deniedBy }
  if (trusted || rules.allow.some((allow) => matchesAddress(allow, destination, port))) return
  return { address: shown, class: destination.class }
}

function unbracket(ip: string): string {
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip
}
