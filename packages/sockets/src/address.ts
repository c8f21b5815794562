/**
 * Addresses: IPv4 and IPv6 literals (with zones), host names, ports and
 * `"host:port"` text, parsed and formatted in one place for the socket API
 * and the runtime (`@sockworker/sockets/address`). The parsers return
 * results; the `check…` and `parseAddress` helpers below throw, for the
 * socket API, whose callers' mistakes are `TypeError`s and `RangeError`s.
 */
import { parseHostname, parseHostPort, parsePort } from './address/host-port.ts'
import { orThrow } from './address/result.ts'
import type { SocketAddress } from './types.ts'

export {
  formatAddress,
  type HostPort,
  type HostPortOptions,
  type PortOptions,
  parseHostname,
  parseHostPort,
  parsePort,
} from './address/host-port.ts'
export {
  formatIPv4,
  formatIPv6,
  formatIp,
  type IpAddress,
  isMapped,
  parseIPv4,
  parseIPv6,
  parseIp,
  unmap,
} from './address/ip.ts'
export { failure, orThrow, type Parsed, type ParseFailure, parsed } from './address/result.ts'

/**
 * Checks a port number, or throws a `TypeError` or `RangeError` that says
 * what is allowed.
 *
 * @example
 * checkPort(options.port ?? 0, 'port', true)
 */
export function checkPort(port: unknown, what = 'port', allowZero = false): number {
  return orThrow(parsePort(port, { allowZero }), (reason) => {
    return `Invalid ${what} ${JSON.stringify(port)}: ${reason}`
  })
}

/**
 * Checks a host name or IP literal (without brackets), or throws a `TypeError`.
 *
 * @example
 * checkHostname(options.hostname ?? 'localhost')
 */
export function checkHostname(hostname: unknown, what = 'hostname'): string {
  return orThrow(parseHostname(hostname), (reason) => {
    return `Invalid ${what} ${JSON.stringify(hostname)}: ${reason}`
  })
}

/**
 * Parses `"host:port"`, `"[v6addr]:port"` or `{ hostname, port }`, or throws
 * a `TypeError` or `RangeError` that quotes the value.
 *
 * @example
 * parseAddress('[::1]:5432') // { hostname: '::1', port: 5432 }
 */
export function parseAddress(address: SocketAddress): { hostname: string; port: number } {
  if (typeof address === 'object' && address !== null) {
    return { hostname: checkHostname(address.hostname), port: checkPort(address.port) }
  }
  if (typeof address !== 'string') {
    throw new TypeError(
      `Invalid address ${String(address)}: expected "host:port", "[v6addr]:port" or { hostname, port }`,
    )
  }
  return orThrow(parseHostPort(address), (reason) => `Cannot parse address "${address}": ${reason}`)
}
