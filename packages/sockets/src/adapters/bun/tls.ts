/**
 * Our TLS options in Bun's terms, and Bun's TLS state in ours.
 */
import type { TlsParams } from '../../platform.ts'
import type { TlsInfo, TlsOptions } from '../../types.ts'
import type { BunSocket, BunTlsOptions } from './api.ts'
import { unsupported } from './errors.ts'

/** ALPN names in the wire format Bun takes: each prefixed by its length. */
function alpnWire(names: string[]): ArrayBuffer {
  const encoder = new TextEncoder()
  const parts = names.map((name) => encoder.encode(name))
  const out = new Uint8Array(parts.reduce((sum, part) => sum + 1 + part.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    out[offset++] = part.byteLength
    out.set(part, offset)
    offset += part.byteLength
  }
  return out.buffer
}

/** Options for `Bun.connect({ tls })` or a client `upgradeTLS()`. */
export function clientTlsOptions(params: TlsParams): BunTlsOptions {
  const { tls } = params
  const options: BunTlsOptions = { rejectUnauthorized: tls.verify ?? true }
  if (tls.ca !== undefined) options.ca = tls.ca
  if (tls.cert !== undefined && tls.key !== undefined) {
    options.cert = tls.cert
    options.key = tls.key
  }
  // Bun checks the certificate against serverName, an IP address included
  // (against its IP SANs), so the name the caller asked for goes here as is.
  if (params.servername !== undefined) options.serverName = params.servername
  if (params.alpn !== undefined) options.ALPNProtocols = alpnWire(params.alpn)
  return options
}

/** One certificate's options. */
function serverBase(tls: TlsOptions): BunTlsOptions {
  const requestCert = tls.requestCert ?? false
  const options: BunTlsOptions = {
    requestCert,
    rejectUnauthorized: requestCert && (tls.verify ?? true),
  }
  if (tls.ca !== undefined) options.ca = tls.ca
  if (tls.cert !== undefined) options.cert = tls.cert
  if (tls.key !== undefined) options.key = tls.key
  if (tls.alpn !== undefined) options.ALPNProtocols = alpnWire(tls.alpn)
  return options
}

/**
 * `Bun.listen({ tls })`, or the server side of a STARTTLS upgrade. Both take
 * one certificate: Bun.listen refuses the list of per-name entries that
 * Bun.serve takes, and its listener has no `addServerName()`, so `tls.sni`
 * cannot be honoured.
 */
export function serverTlsOptions(tls: TlsOptions): BunTlsOptions {
  if (tls.sni !== undefined && Object.keys(tls.sni).length > 0) {
    throw unsupported('choose a TLS certificate by SNI (tls.sni) on a listener')
  }
  return serverBase(tls)
}

/** What `info.tls` reports. */
export function describeTls(socket: BunSocket): TlsInfo {
  const peer = socket.getPeerCertificate()
  const name = (fields: Record<string, unknown> | undefined) =>
    fields === undefined
      ? ''
      : Object.entries(fields)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
          .join(', ')
  const servername = socket.getServername()
  return {
    protocol: socket.getTLSVersion() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : undefined,
    authorized: socket.authorized,
    servername: typeof servername === 'string' ? servername : undefined,
    peerCertificate:
      peer?.raw === undefined
        ? undefined
        : {
            subject: name(peer.subject),
            issuer: name(peer.issuer),
            subjectAltName: peer.subjectaltname,
            validFrom: peer.valid_from ?? '',
            validTo: peer.valid_to ?? '',
            fingerprint256: peer.fingerprint256 ?? '',
            raw: new Uint8Array(peer.raw),
          },
  }
}
