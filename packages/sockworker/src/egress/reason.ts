/**
 * The words of a denial. A denial is read by the person who wrote the policy,
 * often in a log line far from the config, so it names the destination, what
 * it resolved to, the class of each address, and the rule that decided.
 */
import type { AddressClass } from './classify.ts'
import type { Rule } from './rules.ts'

/** Why one address did not pass: a deny rule matched, or no allow rule did. */
export interface Refusal {
  readonly address: string
  readonly class: AddressClass
  readonly deniedBy?: Rule
}

/** How many addresses a denial lists before it says "and N more". */
const LISTED = 4

/**
 * Quotes a destination as `"host:port"`, bracketing a bare IPv6 address.
 *
 * @example
 * destinationLabel('::1', 53) // '"[::1]:53"'
 */
export function destinationLabel(host: string, port: number): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return `"${bracketed}:${port}"`
}

/** The denial of a name that a deny rule matches, before any lookup. */
export function nameDeniedReason(destination: string, rule: Rule): string {
  return `Egress to ${destination} denied: the name matches deny rule "${rule.text}"`
}

/** The denial of an IP literal destination. */
export function addressReason(
  destination: string,
  refusal: Refusal,
  allow: readonly Rule[],
): string {
  const tail = refusal.deniedBy === undefined ? `, and ${allowsText(allow)}` : ''
  return `Egress to ${destination} denied: ${refusal.address} is ${what(refusal)}${tail}`
}

/**
 * The denial of a host name none of whose addresses passed.
 *
 * @example
 * // Egress to "db.internal:5432" denied: it resolves to 10.1.2.3, a private
 * // address, and the policy allows only public
 */
export function resolvedReason(
  destination: string,
  refusals: readonly Refusal[],
  allow: readonly Rule[],
): string {
  const tail = refusals.some((refusal) => refusal.deniedBy === undefined)
    ? `, and ${allowsText(allow)}`
    : ''
  return `Egress to ${destination} denied: it resolves to ${answers(refusals)}${tail}`
}

function answers(refusals: readonly Refusal[]): string {
  const [only] = refusals
  if (refusals.length === 1 && only !== undefined) return `${only.address}, ${what(only)}`
  const listed = refusals.slice(0, LISTED).map((r) => `${r.address} (${what(r)})`)
  const more = refusals.length - listed.length
  if (more > 0) return `${listed.join(', ')} and ${more} more`
  return `${listed.slice(0, -1).join(', ')} and ${listed[listed.length - 1]}`
}

function what(refusal: Refusal): string {
  const kind = refusal.class === 'special' ? 'special-purpose' : refusal.class
  const rule = refusal.deniedBy
  return rule === undefined
    ? `a ${kind} address`
    : `a ${kind} address that matches deny rule "${rule.text}"`
}

function allowsText(allow: readonly Rule[]): string {
  if (allow.length === 0) return 'the policy allows no egress'
  return `the policy allows only ${allow.map((rule) => rule.text).join(', ')}`
}
