/**
 * The per-process tunnel routes: connections to these targets go through a
 * tunnel even when the caller (an unmodified driver) passes no `via`. A
 * runtime installs them from its config before the worker runs.
 */
import { formatAddress, parseAddress } from '../address.ts'
import { checkVia } from '../options.ts'
import type { TunnelVia } from '../types.ts'

let routes = new Map<string, TunnelVia>()

/**
 * Replaces this process's tunnel routes. Keys are `"host:port"` (or
 * `"[v6addr]:port"`), matched exactly against what `connect()` is asked for.
 * An empty table removes every route.
 *
 * @throws TypeError for a key that is not host:port or a via that `connect()` would refuse.
 * @example
 * installTunnelRoutes({ 'db.internal:5432': { url: 'wss://tunnel.example:8443', token } })
 */
export function installTunnelRoutes(table: Record<string, TunnelVia>): void {
  const next = new Map<string, TunnelVia>()
  for (const [target, via] of Object.entries(table)) {
    const { hostname, port } = parseAddress(target)
    const checked = checkVia(via)
    if (checked === undefined)
      throw new TypeError(`Invalid tunnel route "${target}": via is missing`)
    next.set(routeKey(hostname, port), checked)
  }
  routes = next
}

/**
 * The tunnel configured for `hostname:port` in this process, if any.
 *
 * @example
 * tunnelRouteFor('db.internal', 5432) // { url: 'wss://tunnel.example:8443', token }
 */
export function tunnelRouteFor(hostname: string, port: number): TunnelVia | undefined {
  if (routes.size === 0) return undefined
  return routes.get(routeKey(hostname, port))
}

/** Host names are case-insensitive; IP literals are compared as written. */
function routeKey(hostname: string, port: number): string {
  return formatAddress(hostname.toLowerCase(), port)
}
