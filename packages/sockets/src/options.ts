/**
 * Checks the caller's options once, up front, and fills in defaults, so that
 * the rest of the code reads plain values. Mistakes throw at once.
 */
import type { SecureTransport, SocketOptions, SocketType, TlsOptions, TunnelVia } from './types.ts'

export interface ResolvedOptions {
  secureTransport: SecureTransport
  allowHalfOpen: boolean
  sni: string | undefined
  alpn: string[] | undefined
  tls: TlsOptions
  signal: AbortSignal | undefined
  noDelay: boolean
  keepAlive: number | false
  connectTimeout: number
  idleTimeout: number
  highWaterMark: number
  via: TunnelVia | undefined
}

const secureTransports: readonly SecureTransport[] = ['off', 'on', 'starttls']

/** Checks a duration in milliseconds; `0` means "never". */
export function checkDuration(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(
      `Invalid ${name} ${JSON.stringify(value)}: expected milliseconds as a number`,
    )
  }
  if (value < 0 || value > 2 ** 31 - 1) {
    throw new RangeError(`Invalid ${name} ${value}: expected 0 (never) to ${2 ** 31 - 1} ms`)
  }
  return value
}

function checkBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') {
    throw new TypeError(`Invalid ${name} ${JSON.stringify(value)}: expected true or false`)
  }
  return value
}

export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined
  if (!(signal instanceof AbortSignal)) {
    throw new TypeError(
      'Invalid signal: expected an AbortSignal, as from new AbortController().signal',
    )
  }
  return signal
}

export function checkAlpn(alpn: unknown): string[] | undefined {
  if (alpn === undefined) return undefined
  if (!Array.isArray(alpn) || !alpn.every((p) => typeof p === 'string' && p.length > 0)) {
    throw new TypeError(
      `Invalid alpn ${JSON.stringify(alpn)}: expected an array of protocol names, as ["h2", "http/1.1"]`,
    )
  }
  return alpn
}

export function checkHighWaterMark(value: unknown): number {
  if (value === undefined) return 65536
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Invalid highWaterMark ${JSON.stringify(value)}: expected a whole number of bytes, 0 or more`,
    )
  }
  return value
}

export function checkTls(tls: unknown): TlsOptions {
  if (tls === undefined) return {}
  if (typeof tls !== 'object' || tls === null) {
    throw new TypeError('Invalid tls: expected an object such as { ca, cert, key, verify }')
  }
  const options = tls as TlsOptions
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError('Invalid tls: "cert" and "key" go together; give both or neither')
  }
  checkBoolean(options.verify, 'tls.verify', true)
  return options
}

/**
 * Resolves `connect()` / `new Socket()` options with their defaults.
 *
 * @example
 * resolveOptions({ secureTransport: 'on' }).connectTimeout // 30000
 */
export function resolveOptions(options: SocketOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('Invalid options: expected an object')
  }
  const secureTransport = options.secureTransport ?? 'off'
  if (!secureTransports.includes(secureTransport)) {
    throw new TypeError(
      `Invalid secureTransport "${String(secureTransport)}": expected "off", "on" or "starttls"`,
    )
  }
  if (options.sni !== undefined && (typeof options.sni !== 'string' || options.sni === '')) {
    throw new TypeError(`Invalid sni ${JSON.stringify(options.sni)}: expected a host name`)
  }
  const keepAlive = options.keepAlive
  if (keepAlive !== undefined && typeof keepAlive !== 'boolean') {
    checkDuration(keepAlive, 'keepAlive', 0)
  }
  return {
    secureTransport,
    allowHalfOpen: checkBoolean(options.allowHalfOpen, 'allowHalfOpen', false),
    sni: options.sni,
    alpn: checkAlpn(options.alpn),
    tls: checkTls(options.tls),
    signal: checkSignal(options.signal),
    noDelay: checkBoolean(options.noDelay, 'noDelay', true),
    keepAlive:
      keepAlive === true ? 0 : keepAlive === false || keepAlive === undefined ? false : keepAlive,
    connectTimeout: checkDuration(options.connectTimeout, 'connectTimeout', 30_000),
    idleTimeout: checkDuration(options.idleTimeout, 'idleTimeout', 0),
    highWaterMark: checkHighWaterMark(options.highWaterMark),
    via: checkVia(options.via),
  }
}

/** Checks a tunnel address: a WebSocket URL, and a token that can travel in a subprotocol. */
export function checkVia(via: unknown): TunnelVia | undefined {
  if (via === undefined) return undefined
  if (typeof via !== 'object' || via === null || typeof (via as TunnelVia).url !== 'string') {
    throw new TypeError('Invalid via: expected { url: "wss://tunnel.example:8443", token? }')
  }
  const { url, token } = via as TunnelVia
  if (!/^wss?:\/\/[^/]/.test(url)) {
    throw new TypeError(`Invalid via.url "${url}": expected a ws:// or wss:// address`)
  }
  if (token !== undefined && (typeof token !== 'string' || !/^[A-Za-z0-9._~+-]+$/.test(token))) {
    throw new TypeError('Invalid via.token: expected letters, digits and . _ ~ + - only')
  }
  return token === undefined ? { url } : { url, token }
}

/** The socket type, from `type` or else `secureTransport`; a conflict between them is a mistake. */
export function checkType(type: unknown, secureTransport: unknown): SocketType {
  if (type === undefined) return secureTransport === 'on' ? 'tls' : 'tcp'
  if (type !== 'tcp' && type !== 'tls' && type !== 'udp' && type !== 'quic') {
    throw new TypeError(
      `Invalid socket type "${String(type)}": expected "tcp", "tls", "udp" or "quic"`,
    )
  }
  const tlsFromStart = secureTransport === 'on'
  if ((type === 'tls') !== tlsFromStart && secureTransport !== undefined && type !== 'udp') {
    throw new TypeError(
      `Conflicting type "${type}" and secureTransport "${String(secureTransport)}": give one of them`,
    )
  }
  return type
}
