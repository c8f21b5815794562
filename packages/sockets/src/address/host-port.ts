/**
 * Ports, host names and `"host:port"` text. Each parser returns a result
 * (see `result.ts`); the reasons are worded to follow the quoted input, as
 * in `Cannot parse address "x:0": port 0 is not from 1 to 65535`.
 */
import { parseIPv6 } from './ip.ts'
import { failure, type Parsed, parsed } from './result.ts'

/** A host name or IP literal (IPv6 without brackets) and a port. */
export interface HostPort {
  hostname: string
  port: number
}

/** Options of the port parsers. */
export interface PortOptions {
  /** Accept port 0, which asks the system for a free port. Default `false`. */
  allowZero?: boolean
}

/** Options of `parseHostPort`. */
export interface HostPortOptions extends PortOptions {
  /** The host name of a bare `"port"`. Default: none, so a bare port is refused. */
  defaultHostname?: string
}

/**
 * Checks a port number.
 *
 * @example
 * parsePort(5432) // { ok: true, value: 5432 }
 * parsePort(0) // { ok: false, kind: 'range', reason: 'expected an integer from 1 to 65535' }
 */
export function parsePort(port: unknown, options: PortOptions = {}): Parsed<number> {
  if (typeof port !== 'number' || !Number.isInteger(port)) return failure('expected an integer')
  const min = options.allowZero === true ? 0 : 1
  if (port < min || port > 65535) {
    return failure(`expected an integer from ${min} to 65535`, 'range')
  }
  return parsed(port)
}

/**
 * Checks a host name or IP literal (IPv6 without brackets, with an optional
 * `%zone`). A name with a colon must be an IPv6 address.
 *
 * @example
 * parseHostname('db.internal') // { ok: true, value: 'db.internal' }
 * parseHostname('http://x') // { ok: false, kind: 'type', reason: 'expected a host name or …' }
 */
export function parseHostname(hostname: unknown): Parsed<string> {
  if (typeof hostname !== 'string' || hostname.length === 0) {
    return failure('expected a non-empty string')
  }
  if (hostname.length > 253 || /[\s/?#@[\]]/.test(hostname)) {
    return failure('expected a host name or an IP address, without a scheme, path or brackets')
  }
  if (hostname.includes(':') && parseIPv6(hostname) === undefined) {
    return failure('expected an IPv6 address, since it has a colon')
  }
  return parsed(hostname)
}

/**
 * Parses `"host:port"` or `"[v6addr]:port"`; with `defaultHostname`, a
 * bare `"port"` too.
 *
 * @example
 * parseHostPort('[::1]:5432') // { ok: true, value: { hostname: '::1', port: 5432 } }
 * parseHostPort('7000', { defaultHostname: '127.0.0.1' }) // { ok: true, value: { hostname: '127.0.0.1', port: 7000 } }
 */
export function parseHostPort(text: string, options: HostPortOptions = {}): Parsed<HostPort> {
  const split = splitHostPort(text, options.defaultHostname)
  if (!split.ok) return split
  const { hostname, portText } = split.value
  if (!/^\d{1,5}$/.test(portText)) return failure(`port "${portText}" is not a number`)
  const port = Number(portText)
  const min = options.allowZero === true ? 0 : 1
  if (port < min || port > 65535)
    return failure(`port ${port} is not from ${min} to 65535`, 'range')
  if (hostname.length === 0) return failure('host name is missing')
  const checked = parseHostname(hostname)
  if (!checked.ok) return failure(`host name "${hostname}": ${checked.reason}`)
  return parsed({ hostname, port })
}

function splitHostPort(
  text: string,
  defaultHostname: string | undefined,
): Parsed<{ hostname: string; portText: string }> {
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close === -1) return failure('the IPv6 address has no closing "]"')
    if (text[close + 1] !== ':') return failure('port is missing; write "[v6addr]:port"')
    const hostname = text.slice(1, close)
    if (parseIPv6(hostname) === undefined) {
      return failure(`"${hostname}" in brackets is not an IPv6 address`)
    }
    return parsed({ hostname, portText: text.slice(close + 2) })
  }
  const colon = text.lastIndexOf(':')
  if (colon === -1) {
    if (defaultHostname === undefined) return failure('port is missing; write "host:port"')
    if (!/^\d+$/.test(text)) return failure('port is missing; write "host:port" or "port"')
    return parsed({ hostname: defaultHostname, portText: text })
  }
  const hostname = text.slice(0, colon)
  const portText = text.slice(colon + 1)
  if (hostname.includes(':')) {
    return failure(`an IPv6 address needs brackets, as in "[${hostname}]:${portText}"`)
  }
  return parsed({ hostname, portText })
}

/**
 * Formats a host and port the way `parseHostPort` reads them back: an IPv6
 * address goes in brackets.
 *
 * @example
 * formatAddress('::1', 5432) // '[::1]:5432'
 */
export function formatAddress(hostname: string, port: number): string {
  return hostname.includes(':') ? `[${hostname}]:${port}` : `${hostname}:${port}`
}
