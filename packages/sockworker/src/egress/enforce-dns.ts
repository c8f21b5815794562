/**
 * The egress policy for DNS servers a worker chooses. `dns.resolve*()`
 * sends its queries through c-ares, which opens its own sockets below
 * `node:net` and `node:dgram`: `dns.setServers(['10.0.0.1:4444'])` would
 * send a query, whose name the worker writes, to any address and port.
 * Every `setServers` (of `node:dns`, `node:dns/promises` and each
 * `Resolver`) passes through `ResolverBase.prototype.setServers`; servers
 * are checked there, as outbound UDP to their address and port. The
 * system's own resolvers, which the operator configured, stay usable.
 */
import * as dns from 'node:dns'
import type { EgressHooks } from './hooks.ts'
import type { EgressPolicy } from './policy.ts'
import { lockMethod, type RawPrototype } from './raw-handles.ts'

/**
 * Guards `setServers` on every resolver.
 *
 * @example
 * guardDnsServers(policy, hooks) // once, before the worker's code loads
 */
export function guardDnsServers(policy: EgressPolicy, hooks: EgressHooks): void {
  const base = Object.getPrototypeOf(dns.Resolver.prototype) as RawPrototype
  const getServers = base['getServers'] as (this: object) => string[]
  lockMethod(
    base,
    'setServers',
    (original) =>
      function setServers(this: object, ...args: unknown[]) {
        const before = getServers.call(this)
        // The original validates and normalises ("1.1.1.1", "[::1]:5353"); check what it kept.
        const result = original.apply(this, args)
        for (const server of getServers.call(this)) {
          const { address, port } = parseServer(server)
          const verdict = policy.checkAddress(address, port)
          if (verdict.allowed) continue
          original.call(this, before)
          hooks.onDeny(verdict.reason)
          throw Object.assign(new Error(verdict.reason), { code: 'ERR_EGRESS_DENIED' })
        }
        return result
      },
  )
}

/** "1.1.1.1", "1.1.1.1:5353", "::1" or "[::1]:5353", as `getServers()` gives them. */
function parseServer(server: string): { address: string; port: number } {
  const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(server)
  if (bracketed) return { address: bracketed[1] ?? '', port: Number(bracketed[2] ?? 53) }
  const v4 = /^([\d.]+)(?::(\d+))?$/.exec(server)
  if (v4) return { address: v4[1] ?? '', port: Number(v4[2] ?? 53) }
  return { address: server, port: 53 }
}
