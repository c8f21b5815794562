/**
 * Parsing and checking of addresses. Every failure here is the caller's
 * mistake, so it throws at once with a message that quotes the value.
 */
import type { SocketAddress } from './types.ts'

export interface HostPort {
  hostname: string
  port: number
}

/** Checks a port number, or throws a `RangeError` that says what is allowed. */
export function checkPort(port: unknown, what = 'port', allowZero = false): number {
  if (typeof port !== 'number' || !Number.isInteger(port)) {
    throw new TypeError(`Invalid ${what} ${JSON.stringify(port)}: expected an integer`)
  }
  const min = allowZero ? 0 : 1
  if (port < min || port > 65535) {
    throw new RangeError(`Invalid ${what} ${port}: expected an integer from ${min} to 65535`)
  }
  return port
}

/** Checks a host name or IP literal (without brackets). */
export function checkHostname(hostname: unknown, what = 'hostname'): string {
  if (typeof hostname !== 'string' || hostname.length === 0) {
    throw new TypeError(`Invalid ${what} ${JSON.stringify(hostname)}: expected a non-empty string`)
  }
  // Brackets only ever delimit an IPv6 address: inside a host name they are
  // left over from a malformed "[[v6]:port", which would not format back.
  if (hostname.length > 253 || /[\s/?#@[\]]/.test(hostname)) {
    throw new TypeError(
      `Invalid ${what} "${hostname}": expected a host name or an IP address, without a scheme or path`,
    )
  }
  return hostname
}

/**
 * Parses `"host:port"`, `"[v6addr]:port"` or `{ hostname, port }`.
 *
 * @example
 * parseAddress('[::1]:5432') // { hostname: '::1', port: 5432 }
 */
export function parseAddress(address: SocketAddress): HostPort {
  if (typeof address === 'object' && address !== null) {
    return {
      hostname: checkHostname(address.hostname),
      port: checkPort(address.port),
    }
  }
  if (typeof address !== 'string') {
    throw new TypeError(
      `Invalid address ${String(address)}: expected "host:port", "[v6addr]:port" or { hostname, port }`,
    )
  }
  return parseAddressString(address)
}

function parseAddressString(address: string): HostPort {
  const fail = (why: string): never => {
    throw new TypeError(`Cannot parse address "${address}": ${why}`)
  }
  let hostname: string
  let portText: string
  if (address.startsWith('[')) {
    const close = address.indexOf(']')
    if (close === -1) fail('the IPv6 address has no closing "]"')
    hostname = address.slice(1, close)
    if (address[close + 1] !== ':') fail('port is missing; write "[v6addr]:port"')
    portText = address.slice(close + 2)
  } else {
    const colon = address.lastIndexOf(':')
    if (colon === -1) fail('port is missing; write "host:port"')
    hostname = address.slice(0, colon)
    if (hostname.includes(':')) fail('an IPv6 address needs brackets, as in "[::1]:port"')
    portText = address.slice(colon + 1)
  }
  if (!/^\d{1,5}$/.test(portText)) fail(`port "${portText}" is not a number`)
  const port = Number(portText)
  if (port < 1 || port > 65535) {
    throw new RangeError(`Cannot parse address "${address}": port ${port} is not from 1 to 65535`)
  }
  if (hostname.length === 0) fail('host name is missing')
  return { hostname: checkHostname(hostname, `host name in "${address}"`), port }
}

/** Formats a host and port the way `parseAddress` reads them back. */
export function formatAddress(hostname: string, port: number): string {
  return hostname.includes(':') ? `[${hostname}]:${port}` : `${hostname}:${port}`
}
