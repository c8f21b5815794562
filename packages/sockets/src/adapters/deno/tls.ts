/**
 * Our TLS options in Deno's terms. Deno's TLS (rustls) always verifies the
 * peer, takes one certificate per listener and does not ask clients for
 * theirs, so those options fail with `ERR_UNSUPPORTED` instead of being
 * silently dropped.
 */
import type { TlsParams } from '../../platform.ts'
import type { TlsInfo, TlsOptions } from '../../types.ts'
import { denoUnsupported } from './errors.ts'

type Pem = string | Uint8Array

const decoder = new TextDecoder()

function pem(value: Pem): string {
  return typeof value === 'string' ? value : decoder.decode(value)
}

export interface DenoClientTls {
  /** The name to verify and send as SNI (Deno sends none for an IP address). */
  hostname: string
  caCerts?: string[]
  alpnProtocols?: string[]
  cert?: string
  key?: string
}

/** Options for `Deno.connectTls()` / `Deno.startTls()`; throws `ERR_UNSUPPORTED`. */
export function clientTls(params: TlsParams, hostname: string): DenoClientTls {
  const { tls } = params
  if (tls.verify === false) {
    throw denoUnsupported(
      'turning TLS certificate verification off (tls.verify: false)',
      'pass the server certificate or its CA in tls.ca instead',
    )
  }
  const options: DenoClientTls = { hostname: params.servername ?? hostname }
  if (tls.ca !== undefined) options.caCerts = (Array.isArray(tls.ca) ? tls.ca : [tls.ca]).map(pem)
  if (params.alpn !== undefined) options.alpnProtocols = params.alpn
  if (tls.cert !== undefined && tls.key !== undefined) {
    options.cert = pem(tls.cert)
    options.key = pem(tls.key)
  }
  return options
}

export interface DenoServerTls {
  cert: string
  key: string
  alpnProtocols?: string[]
}

/** Options for `Deno.listenTls()`; throws `ERR_UNSUPPORTED`. */
export function serverTls(tls: TlsOptions): DenoServerTls {
  if (tls.sni !== undefined && Object.keys(tls.sni).length > 0) {
    throw denoUnsupported(
      'choosing the server certificate by SNI (tls.sni)',
      'give the listener one certificate in tls.cert and tls.key',
    )
  }
  if (tls.requestCert === true) {
    throw denoUnsupported('asking TLS clients for a certificate (tls.requestCert)')
  }
  if (tls.cert === undefined || tls.key === undefined) {
    throw new TypeError('A TLS listener needs tls.cert and tls.key (PEM)')
  }
  const options: DenoServerTls = { cert: pem(tls.cert), key: pem(tls.key) }
  if (tls.alpn !== undefined) options.alpnProtocols = tls.alpn
  return options
}

/**
 * What `info.tls` can report on Deno: the handshake tells only the ALPN
 * protocol, so version, cipher and the peer's certificate are unknown.
 */
export function describeTls(
  role: 'client' | 'server',
  alpn: string | null,
  servername: string | undefined,
): TlsInfo {
  return {
    protocol: 'unknown',
    cipher: 'unknown',
    alpn: alpn ?? undefined,
    // A Deno client never completes a handshake it could not verify.
    authorized: role === 'client',
    servername: role === 'server' ? undefined : servername,
    peerCertificate: undefined,
  }
}
