/**
 * The egress policy of one worker: which connections it may open. Parsing
 * happens once, when the config loads, so a bad rule stops the start; every
 * check after that is a scan of a few parsed rules.
 */
import type { LookupFunction } from 'node:net'
import { checkPort } from '@sockworker/sockets/address'
import { parseLiteral } from './cidr.ts'
import { evaluateAddress, type Outcome, type RuleSet } from './evaluate.ts'
import { createLookup } from './lookup.ts'
import { decide, type Resolver, systemResolver } from './resolve.ts'
import { parseRule, type Rule } from './rules.ts'

/** A policy as the config writes it: rule strings, see `EgressPolicy.parse`. */
export interface EgressPolicyInit {
  readonly allow: readonly string[]
  readonly deny: readonly string[]
}

/** The answer to "may this worker connect here?". */
export type EgressVerdict =
  | { readonly allowed: true; readonly address: string }
  | { readonly allowed: false; readonly reason: string }

/** Options of the checks that resolve names. */
export interface ResolveOptions {
  /** Resolves a host name to IP literals. Default: `dns.lookup` with `all: true`. */
  readonly resolve?: Resolver
}

/**
 * Decides whether a worker may open a connection. Deny rules win over allow
 * rules; a destination passes when nothing denies it and something allows
 * it. A host name passes when a deny rule does not name it and one of its
 * addresses passes; that address is returned so that the caller connects to
 * exactly it.
 *
 * @example
 * const policy = EgressPolicy.parse({ allow: ['public', 'db.internal:5432'], deny: ['169.254.169.254'] })
 * const verdict = await policy.check('db.internal', 5432)
 * if (verdict.allowed) net.connect({ host: verdict.address, port: 5432 })
 */
export class EgressPolicy {
  readonly #rules: RuleSet

  /** Parses the rules; prefer `EgressPolicy.parse`. Throws like it. */
  constructor(init: EgressPolicyInit) {
    if (typeof init !== 'object' || init === null) {
      throw new TypeError('Invalid egress policy: expected { allow: string[], deny: string[] }')
    }
    this.#rules = { allow: parseList(init.allow, 'allow'), deny: parseList(init.deny, 'deny') }
  }

  /**
   * Parses a policy. Each rule is an address class (`public`, `private`,
   * `loopback`, `link-local`, `any`), an IP or CIDR (`10.0.0.0/8`, `[::1]`),
   * or a host name (`db.example.com`, `*.example.com` for its subdomains at
   * any depth), optionally followed by `:port` or `:low-high`. A bad rule
   * throws a `TypeError` that quotes it and says where it is (`deny[1]`).
   *
   * @example
   * EgressPolicy.parse({ allow: ['public:443', '10.0.0.0/8:5432-5439'], deny: [] })
   */
  static parse(init: EgressPolicyInit): EgressPolicy {
    return new EgressPolicy(init)
  }

  /**
   * A policy that allows everything, the default of `sockworker dev`.
   *
   * @example
   * EgressPolicy.allowAll().describe() // 'allow any'
   */
  static allowAll(): EgressPolicy {
    return new EgressPolicy({ allow: ['any'], deny: [] })
  }

  /**
   * Checks an IP literal at once. With `hostname`, the address is taken as
   * an answer for that name, so the name's rules apply too.
   *
   * @example
   * policy.checkAddress('10.1.2.3', 5432) // { allowed: false, reason: 'Egress to "10.1.2.3:5432" denied: …' }
   */
  checkAddress(ip: string, port: number, hostname?: string): EgressVerdict {
    checkPort(port, 'port', true)
    if (typeof ip !== 'string' || parseLiteral(ip) === undefined) {
      throw new TypeError(
        `Invalid IP address ${JSON.stringify(ip)}: expected an IPv4 or IPv6 literal; use check() for host names`,
      )
    }
    return toVerdict(evaluateAddress(this.#rules, ip, port, hostname))
  }

  /**
   * Checks a host name or IP literal, resolving names. Rejects as the
   * resolver does when a name does not resolve (`ENOTFOUND`).
   *
   * @example
   * const verdict = await policy.check('api.example.com', 443)
   */
  async check(host: string, port: number, options: ResolveOptions = {}): Promise<EgressVerdict> {
    checkPort(port, 'port', true)
    checkHost(host)
    const resolve = options.resolve ?? systemResolver
    return toVerdict(await decide(this.#rules, host, port, { resolve }))
  }

  /**
   * A `lookup` function for `net.connect` and `tls.connect` that resolves
   * through the policy for connections to `port`. It calls back with the
   * passing addresses only, or with a `SocketError` whose code is
   * `ERR_EGRESS_DENIED`. Node does not call `lookup` for IP literals: check
   * those with `checkAddress` first. Not for `dgram`, which also looks up its
   * bind address through it: for UDP, `check()` the destination and send to
   * the address it returns.
   *
   * @example
   * net.connect({ host: 'db.internal', port: 5432, lookup: policy.lookupFor(5432) })
   */
  lookupFor(port: number, options: ResolveOptions = {}): LookupFunction {
    checkPort(port, 'port', true)
    return createLookup(this.#rules, port, options.resolve ?? systemResolver)
  }

  /**
   * The policy in one line, for logs and `--help` output.
   *
   * @example
   * EgressPolicy.parse({ allow: ['public'], deny: ['169.254.169.254'] }).describe()
   * // 'allow public; deny 169.254.169.254'
   */
  describe(): string {
    const allow = `allow ${this.#rules.allow.map((rule) => rule.text).join(', ') || 'nothing'}`
    const deny = this.#rules.deny.map((rule) => rule.text).join(', ')
    return deny === '' ? allow : `${allow}; deny ${deny}`
  }
}

function parseList(rules: unknown, key: 'allow' | 'deny'): Rule[] {
  if (!Array.isArray(rules)) {
    throw new TypeError(
      `Invalid egress policy: "${key}" must be an array of rule strings, got ${String(JSON.stringify(rules))}`,
    )
  }
  return rules.map((rule, i) => parseRule(rule, `${key}[${i}]`))
}

function toVerdict(outcome: Outcome): EgressVerdict {
  if (!outcome.allowed) return { allowed: false, reason: outcome.reason }
  return { allowed: true, address: outcome.addresses[0] ?? '' }
}

function checkHost(host: unknown): void {
  if (typeof host !== 'string' || host === '') {
    throw new TypeError(
      `Invalid host ${String(JSON.stringify(host))}: expected a host name or an IP address`,
    )
  }
}
