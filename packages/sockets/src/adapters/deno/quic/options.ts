/**
 * Our QUIC options in Deno's terms. Deno 2.9 takes the idle timeout,
 * keep-alive and stream limits; what it cannot take fails with
 * `ERR_UNSUPPORTED` (reported through `opened`) instead of being dropped:
 * flow-control windows, turning verification off, client certificates on
 * the server, certificates by SNI and `reusePort`.
 */
import type { SocketError } from '../../../errors.ts'
import { resolveQuicParams } from '../../../quic/options.ts'
import type { QuicParams } from '../../../quic/platform.ts'
import type { TlsOptions } from '../../../types.ts'
import { denoUnsupported } from '../errors.ts'
import type { QuicTransportOptions } from './api.ts'

const defaults = resolveQuicParams({})
/**
 * `idleTimeout: 0` ("never"): quinn takes `maxIdleTimeout: 0` on a server as
 * "time out at once" (every handshake failed, probed), so "never" is a
 * timeout no peer reaches, about 24.8 days. The negotiated timeout is the
 * smaller of both sides', so the peer's own still applies, as in QUIC.
 */
const never = 2 ** 31
const decoder = new TextDecoder()

export function pem(value: string | Uint8Array): string {
  return typeof value === 'string' ? value : decoder.decode(value)
}

export function transportOptions(params: QuicParams): QuicTransportOptions {
  return {
    maxIdleTimeout: params.idleTimeout === 0 ? never : params.idleTimeout,
    ...(params.keepAlive === false ? {} : { keepAliveInterval: params.keepAlive }),
    maxConcurrentBidirectionalStreams: params.maxBidirectionalStreams,
    maxConcurrentUnidirectionalStreams: params.maxUnidirectionalStreams,
  }
}

/** What Deno cannot honour in `params`, or undefined. */
export function unsupportedParams(params: QuicParams): SocketError | undefined {
  if (
    params.streamWindow !== defaults.streamWindow ||
    params.connectionWindow !== defaults.connectionWindow
  ) {
    return denoUnsupported(
      'setting QUIC flow-control windows (streamWindow, connectionWindow): quinn in Deno keeps its own, 1.25 MB per stream',
      'leave them unset on Deno',
    )
  }
  return undefined
}

/** What Deno cannot honour in a client's `tls`, or undefined. */
export function unsupportedClientTls(tls: TlsOptions): SocketError | undefined {
  if (tls.verify === false) {
    return denoUnsupported(
      'turning TLS certificate verification off (tls.verify: false)',
      'pass the server certificate or its CA in tls.ca instead',
    )
  }
  return undefined
}

/** What Deno cannot honour in a listener's `tls` or options, or undefined. */
export function unsupportedServer(tls: TlsOptions, reusePort: boolean): SocketError | undefined {
  if (reusePort) {
    return denoUnsupported(
      'reusePort for QUIC listeners (Deno.QuicEndpoint binds its own socket)',
      'listen on one port per process',
    )
  }
  if (tls.requestCert === true) {
    return denoUnsupported('asking QUIC clients for a certificate (tls.requestCert)')
  }
  if (tls.sni !== undefined && Object.keys(tls.sni).length > 0) {
    return denoUnsupported(
      'choosing the server certificate by SNI (tls.sni)',
      'give the listener one certificate in tls.cert and tls.key',
    )
  }
  return undefined
}
