/**
 * The listen address of a listener or of the metrics endpoint: `"[host:]port"`.
 */
import { mismatch, type Schema } from './validate.ts'

/** A parsed listen address. */
export interface ListenAddress {
  hostname: string
  port: number
}

/** Where a listener binds when its address gives only a port: loopback, so nothing is exposed by accident. */
export const DEFAULT_HOSTNAME = '127.0.0.1'

const EXPECTED =
  'an address "[host:]port", such as "7000", "127.0.0.1:7000", "0.0.0.0:7000" or "[::1]:7000"'

/**
 * Parses `"port"`, `"host:port"` or `"[v6addr]:port"`; a bare integer port is
 * accepted too. Port 0 asks the system for a free port (tests use it).
 * Returns a message instead of throwing, for the config report.
 *
 * @example
 * parseListenAddress('7000') // { hostname: '127.0.0.1', port: 7000 }
 * parseListenAddress('[::]:53') // { hostname: '::', port: 53 }
 */
export function parseListenAddress(value: string | number): ListenAddress | string {
  if (typeof value === 'number') return portOf(String(value), value)
  let hostname = DEFAULT_HOSTNAME
  let portText = value
  if (value.startsWith('[')) {
    const close = value.indexOf(']')
    if (close === -1) return `${JSON.stringify(value)}: the IPv6 address has no closing "]"`
    if (value[close + 1] !== ':') return `${JSON.stringify(value)}: port is missing after "]"`
    hostname = value.slice(1, close)
    portText = value.slice(close + 2)
  } else if (value.includes(':')) {
    const colon = value.lastIndexOf(':')
    hostname = value.slice(0, colon)
    if (hostname.includes(':')) {
      return `${JSON.stringify(value)}: an IPv6 address needs brackets, as in "[::1]:7000"`
    }
    portText = value.slice(colon + 1)
  }
  if (hostname === '' || /[\s/?#@[\]]/.test(hostname)) {
    return `${JSON.stringify(value)} is not ${EXPECTED}`
  }
  const port = portOf(value, portText)
  return typeof port === 'string' ? port : { hostname, port: port.port }
}

function portOf(whole: string, text: string | number): { hostname: string; port: number } | string {
  // `+ 0` turns TOML's `-0` into 0: a port of -0 would not survive a round trip through text.
  const port =
    typeof text === 'number' ? text + 0 : /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN
  if (Number.isNaN(port)) return `${JSON.stringify(whole)} is not ${EXPECTED}`
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return `port ${port} in ${JSON.stringify(whole)} is not from 0 to 65535`
  }
  return { hostname: DEFAULT_HOSTNAME, port }
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
      return typeof parsed === 'string' ? ctx.report(path, parsed) : parsed
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
