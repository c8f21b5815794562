/**
 * The listen address of a listener or of the metrics endpoint: `"[host:]port"`.
 */
import { type HostPort, type Parsed, parseHostPort } from '@sockworker/sockets/address'
import { mismatch, type Schema } from './validate.ts'

/** A parsed listen address. */
export type ListenAddress = HostPort

/** Where a listener binds when its address gives only a port: loopback, so nothing is exposed by accident. */
export const DEFAULT_HOSTNAME = '127.0.0.1'

const EXPECTED =
  'an address "[host:]port", such as "7000", "127.0.0.1:7000", "0.0.0.0:7000" or "[::1]:7000"'

/**
 * Parses `"port"`, `"host:port"` or `"[v6addr]:port"`; a bare integer port is
 * accepted too. Port 0 asks the system for a free port (tests use it).
 * Returns a result, for the config report and the command line to word.
 *
 * @example
 * parseListenAddress('7000') // { ok: true, value: { hostname: '127.0.0.1', port: 7000 } }
 * parseListenAddress('[::]:53') // { ok: true, value: { hostname: '::', port: 53 } }
 */
export function parseListenAddress(value: string | number): Parsed<ListenAddress> {
  return parseHostPort(String(value), { defaultHostname: DEFAULT_HOSTNAME, allowZero: true })
}

/**
 * The schema of a listen address.
 *
 * @example
 * object({ listen: listenAddress() })
 */
export function listenAddress(): Schema<ListenAddress> {
  return {
    expected: EXPECTED,
    check(value, path, ctx) {
      if (typeof value !== 'string' && typeof value !== 'number') {
        return mismatch(ctx, path, value, EXPECTED)
      }
      const parsed = parseListenAddress(value)
      if (parsed.ok) return parsed.value
      return ctx.report(path, `${JSON.stringify(String(value))}: ${parsed.reason}`)
    },
  }
}

/**
 * True when two binds of the same transport would collide: the same port, and
 * the same host or a wildcard that covers the other (`::` covers both
 * families on a dual-stack system; a host name may resolve to either).
 */
export function overlaps(a: ListenAddress, b: ListenAddress): boolean {
  if (a.port !== b.port || a.port === 0) return false
  if (a.hostname === b.hostname || a.hostname === '::' || b.hostname === '::') return true
  const coversV4 = (wild: string, other: string) => wild === '0.0.0.0' && !other.includes(':')
  return coversV4(a.hostname, b.hostname) || coversV4(b.hostname, a.hostname)
}
