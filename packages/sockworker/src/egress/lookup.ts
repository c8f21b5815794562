/**
 * A `lookup` function for `net.connect` and `tls.connect`, which resolves
 * through the policy. Because the socket then connects to exactly the
 * address we approved, a DNS answer cannot change between the check and the
 * connect (DNS rebinding). Node skips `lookup` for IP literals, so the caller
 * must still check those with `EgressPolicy.checkAddress`.
 *
 * Not for `dgram`: a UDP socket calls its `lookup` for its own bind address
 * too (`0.0.0.0` on an implicit bind), which is no destination and which we
 * cannot tell apart from a `send` to `0.0.0.0` (that reaches loopback on
 * Linux). For UDP, check the destination with `EgressPolicy.check` and send
 * to the address it returns.
 */
import type { LookupAddress, LookupOptions } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { SocketError } from '@sockworker/sockets'
import type { RuleSet } from './evaluate.ts'
import { decide, type Resolver } from './resolve.ts'

type Callback = (
  error: NodeJS.ErrnoException | null,
  address?: string | LookupAddress[],
  family?: number,
) => void

/**
 * Builds the lookup function for one destination port. It accepts the three
 * forms of `dns.lookup`: `(host, callback)`, `(host, family, callback)`, and
 * `(host, options, callback)` as net calls it, with `all: true` when it races
 * address families (`autoSelectFamily`). A denial calls back with a
 * `SocketError` whose code is `ERR_EGRESS_DENIED`.
 *
 * @example
 * net.connect({ host: 'db.internal', port: 5432, lookup: createLookup(rules, 5432, systemResolver) })
 */
export function createLookup(rules: RuleSet, port: number, resolve: Resolver): LookupFunction {
  const lookup = (hostname: string, options: unknown, callback?: unknown): void => {
    const [settings, done] =
      typeof options === 'function'
        ? [{}, options as Callback]
        : [toOptions(options), callback as Callback]
    if (typeof done !== 'function') {
      throw new TypeError('Invalid lookup call: expected a callback as the last argument')
    }
    const family = toFamily(settings.family)
    decide(rules, hostname, port, { resolve, family }).then(
      (outcome) => {
        if (!outcome.allowed) return done(new SocketError('ERR_EGRESS_DENIED', outcome.reason))
        const addresses = outcome.addresses
        if (settings.all === true) {
          return done(
            null,
            addresses.map((address) => ({ address, family: isIP(address) })),
          )
        }
        const first = addresses[0] ?? ''
        done(null, first, isIP(first))
      },
      (error: NodeJS.ErrnoException) => done(error),
    )
  }
  return lookup as LookupFunction
}

function toOptions(options: unknown): LookupOptions {
  if (typeof options === 'number') return { family: options }
  return typeof options === 'object' && options !== null ? (options as LookupOptions) : {}
}

function toFamily(family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4
  if (family === 6 || family === 'IPv6') return 6
  return 0
}
