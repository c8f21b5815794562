/**
 * Parsing of egress rule strings. A rule is a target (address class, IP or
 * CIDR, host name or `*.` wildcard) and an optional `:port` or `:low-high`.
 * A bad rule is the user's config mistake, so it throws a `TypeError` that
 * quotes the rule and says what is allowed.
 */
import { formatIp, isMapped } from '@sockworker/sockets/address'
import { type Cidr, network, parseLiteral } from './cidr.ts'
import { normalizeName, validateName } from './names.ts'

/** A class a rule can name; `special` ranges are deliberately not nameable. */
export type RuleClass = 'any' | 'public' | 'private' | 'loopback' | 'link-local'

/** What a rule matches, before the port. */
export type RuleTarget =
  | { readonly kind: 'class'; readonly class: RuleClass }
  | { readonly kind: 'cidr'; readonly cidr: Cidr }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'wildcard'; readonly suffix: string }

/** An inclusive port range; a single port has `low === high`. */
export interface PortRange {
  readonly low: number
  readonly high: number
}

/** A parsed rule. `text` is the rule as written (trimmed), for messages. */
export interface Rule {
  readonly text: string
  readonly target: RuleTarget
  /** Absent means any port. */
  readonly ports?: PortRange
}

const CLASSES: ReadonlySet<string> = new Set(['any', 'public', 'private', 'loopback', 'link-local'])

const HELP =
  'A rule is an address class (public, private, loopback, link-local or any), an IP or CIDR ' +
  '(192.168.1.5, 10.0.0.0/8, [::1], 2001:db8::/32), or a host name (db.example.com, ' +
  '*.example.com), optionally followed by :port or :low-high (public:443, [::1]:53, ' +
  'db.internal:5432-5439).'

/**
 * Parses one rule; `where` names its place in the policy, as in `allow[2]`.
 *
 * @example
 * parseRule('10.0.0.0/8:5432-5439', 'allow[0]')
 * // { text: '10.0.0.0/8:5432-5439', target: { kind: 'cidr', … }, ports: { low: 5432, high: 5439 } }
 */
export function parseRule(rule: unknown, where: string): Rule {
  if (typeof rule !== 'string') {
    throw new TypeError(
      `Invalid egress rule ${String(JSON.stringify(rule))} in ${where}: expected a string. ${HELP}`,
    )
  }
  const text = rule.trim()
  const fail = (why: string): never => {
    throw new TypeError(`Invalid egress rule "${rule}" in ${where}: ${why}. ${HELP}`)
  }
  if (text === '') fail('the rule is empty')
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0]
  if (scheme !== undefined) fail(`drop the "${scheme}"; a rule is a host, not a URL`)
  const { host, port } = splitPort(text, fail)
  const target = parseTarget(host, fail)
  if (port === undefined) return { text, target }
  return { text, target, ports: parsePorts(port, fail) }
}

/** Splits `host:port`, `[v6]:port` and `[v6/len]:port`; bare IPv6 takes no port. */
function splitPort(text: string, fail: (why: string) => never): { host: string; port?: string } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close === -1) fail('the "[" has no closing "]"')
    // Accept both "[2001:db8::]/32" and "[2001:db8::/32]".
    const prefix = /^\/\d*/.exec(text.slice(close + 1))?.[0] ?? ''
    const host = text.slice(1, close) + prefix
    const rest = text.slice(close + 1 + prefix.length)
    if (rest === '') return { host: `[${host}]` }
    if (!rest.startsWith(':')) fail(`unexpected "${rest}" after "]"; write "[v6addr]:port"`)
    return { host: `[${host}]`, port: rest.slice(1) }
  }
  const colons = text.split(':').length - 1
  if (colons !== 1) return { host: text }
  const colon = text.indexOf(':')
  return { host: text.slice(0, colon), port: text.slice(colon + 1) }
}

function parsePorts(text: string, fail: (why: string) => never): PortRange {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text)
  if (match === null) fail(`the port "${text}" is not a number or a range such as 5432-5439`)
  const low = Number(match?.[1])
  const high = match?.[2] === undefined ? low : Number(match[2])
  for (const port of [low, high]) {
    if (port < 1 || port > 65535) fail(`port ${port} is not from 1 to 65535`)
  }
  if (low > high) fail(`the port range ${low}-${high} runs backwards; write ${high}-${low}`)
  return { low, high }
}

function parseTarget(raw: string, fail: (why: string) => never): RuleTarget {
  const bracketed = raw.startsWith('[') && raw.endsWith(']')
  const host = (bracketed ? raw.slice(1, -1) : raw).toLowerCase()
  if (!bracketed && CLASSES.has(host)) return { kind: 'class', class: host as RuleClass }
  if (host.includes('/')) return { kind: 'cidr', cidr: parseCidr(host, fail) }
  const address = parseLiteral(host)
  if (address !== undefined) {
    const prefix = address.family === 4 ? 32 : 128
    return { kind: 'cidr', cidr: { ...address, prefix } }
  }
  if (bracketed || host.includes(':')) fail(`"${host}" is not a valid IPv6 address`)
  if (host === '*') fail('"*" alone is not a rule; write "any" for every address')
  if (host.startsWith('*.')) {
    const suffix = normalizeName(host.slice(2))
    const why = validateName(suffix)
    if (why !== undefined) fail(why)
    return { kind: 'wildcard', suffix }
  }
  const name = normalizeName(host)
  const why = validateName(name)
  if (why !== undefined) fail(why)
  return { kind: 'name', name }
}

/**
 * Parses `addr/len`. Host bits must be zero, since `10.1.2.3/8` is more often
 * a typo for a single host than a deliberate `/8`. An IPv6 block inside
 * `::ffff:0:0/96` becomes the IPv4 block it stands for, so that it matches
 * mapped addresses, which are always judged as IPv4.
 */
function parseCidr(text: string, fail: (why: string) => never): Cidr {
  const slash = text.indexOf('/')
  const base = text.slice(0, slash)
  const prefixText = text.slice(slash + 1)
  const raw = parseLiteral(base, { unmap: false })
  if (raw === undefined) fail(`"${base}" is not an IP address`)
  const address = raw as NonNullable<typeof raw>
  const max = address.family === 4 ? 32 : 128
  if (prefixText.includes(':')) {
    fail(
      `to give an IPv6 block a port, use brackets, as in "[${base}/${prefixText.split(':')[0]}]:443"`,
    )
  }
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    fail(`the prefix length "${prefixText}" is not from 0 to ${max}`)
  }
  const prefix = Number(prefixText)
  const block = network(address, prefix)
  if (!block.bytes.every((byte, i) => byte === address.bytes[i])) {
    const host = formatIp(address)
    fail(
      `host bits are set; write "${formatIp(block)}/${prefix}" for the block or "${host}" for the one address`,
    )
  }
  if (address.family === 6 && prefix >= 96 && isMapped(address.bytes)) {
    return { family: 4, bytes: address.bytes.slice(12), prefix: prefix - 96 }
  }
  return block
}
