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

/** One certificate's options for a TLS server or the server side of an upgrade. */
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
 * `Bun.listen({ tls })`: one entry, or, with `tls.sni`, the default entry
 * followed by one per host name (Bun picks by `serverName`, wildcards too).
 */
export function listenerTlsOptions(tls: TlsOptions): BunTlsOptions | BunTlsOptions[] {
  const base = serverBase(tls)
  const named = Object.entries(tls.sni ?? {})
  if (named.length === 0) return base
  const entries = named.map(([serverName, material]) => ({
    ...base,
    serverName,
    cert: material.cert,
    key: material.key,
  }))
  return base.cert === undefined ? entries : [base, ...entries]
}

/** The server side of a STARTTLS upgrade takes one certificate: Bun has no SNI there. */
export function upgradeServerTlsOptions(tls: TlsOptions): BunTlsOptions {
  if (tls.sni !== undefined && Object.keys(tls.sni).length > 0) {
    throw unsupported('choose a certificate by SNI on the server side of a StartTLS upgrade')
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
