/** Small pieces of `Socket`: its error event, its close reason and its type check. */
import type { SocketError } from './errors.ts'
import type { SocketType, StartTlsOptions, TlsOptions } from './types.ts'

/** Dispatched as `error` with the `SocketError` that closed the socket. */
export class SocketErrorEvent extends Event {
  readonly error: SocketError
  constructor(error: SocketError) {
    super('error')
    this.error = error
  }
}

export function closedReason(): DOMException {
  return new DOMException('The socket is closed', 'AbortError')
}

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

/** `startTls()` options in our own form, whichever form the caller used. */
export function fromStartTlsOptions(options: StartTlsOptions): {
  tls?: TlsOptions
  sni?: string
  alpn?: string[]
} {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('Invalid startTls() options: expected an object such as { tls: { ca } }')
  }
  const { ca, cert, key, rejectUnauthorized } = options
  const tls: TlsOptions = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(rejectUnauthorized === false ? { verify: false } : {}),
    ...options.tls,
  }
  const sni = options.sni ?? options.servername ?? options.expectedServerHostname
  return {
    tls,
    ...(sni === undefined || sni === '' ? {} : { sni }),
    ...(options.alpn === undefined ? {} : { alpn: options.alpn }),
  }
}
