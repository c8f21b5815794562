/**
 * Our TLS options in Node's terms, and Node's TLS state in ours.
 */

import type { Socket as NetSocket } from 'node:net'
import type {
  ConnectionOptions,
  TlsOptions as NodeTlsOptions,
  SecureContext,
  TLSSocket,
} from 'node:tls'
import type { TlsParams } from '../../platform.ts'
import type { TlsInfo, TlsOptions } from '../../types.ts'
import { nodeTls } from './lazy.ts'

type Pem = string | Uint8Array

function pem(value: Pem | Pem[] | undefined): string | Buffer | Array<string | Buffer> | undefined {
  if (value === undefined) return undefined
  const one = (v: Pem) =>
    typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  return Array.isArray(value) ? value.map(one) : one(value)
}

/** Options for `tls.connect()`, for a client. */
export function clientTlsOptions(params: TlsParams): ConnectionOptions {
  const { tls } = params
  const options: ConnectionOptions = { rejectUnauthorized: tls.verify ?? true }
  const ca = pem(tls.ca)
  if (ca !== undefined) options.ca = ca
  const cert = pem(tls.cert)
  const key = pem(tls.key)
  if (cert !== undefined && key !== undefined) Object.assign(options, { cert, key })
  const name = params.servername
  if (name !== undefined) {
    // SNI must not carry an IP address (RFC 6066 §3), but the certificate is
    // still checked against the name or address the caller asked for.
    options.servername = isIpLiteral(name) ? '' : name
    options.checkServerIdentity = (_host, cert) => nodeTls().checkServerIdentity(name, cert)
  }
  if (params.alpn !== undefined) options.ALPNProtocols = params.alpn
  return options
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}

/** Options for a TLS server, or for the server side of a STARTTLS upgrade. */
export function serverTlsOptions(tls: TlsOptions): NodeTlsOptions {
  const contexts = new Map<string, SecureContext>()
  for (const [name, material] of Object.entries(tls.sni ?? {})) {
    contexts.set(
      name.toLowerCase(),
      nodeTls().createSecureContext({ cert: pem(material.cert), key: pem(material.key) } as never),
    )
  }
  const options: NodeTlsOptions = {
    requestCert: tls.requestCert ?? false,
    rejectUnauthorized: (tls.requestCert ?? false) && (tls.verify ?? true),
  }
  const ca = pem(tls.ca)
  if (ca !== undefined) options.ca = ca
  const cert = pem(tls.cert)
  const key = pem(tls.key)
  if (cert !== undefined && key !== undefined) Object.assign(options, { cert, key })
  if (tls.alpn !== undefined) options.ALPNProtocols = tls.alpn
  if (contexts.size > 0) {
    options.SNICallback = (servername, done) => done(null, matchSni(contexts, servername))
  }
  return options
}

/** Exact names first, then one wildcard label ("*.example.com"). */
function matchSni(
  contexts: Map<string, SecureContext>,
  servername: string,
): SecureContext | undefined {
  const name = servername.toLowerCase()
  const exact = contexts.get(name)
  if (exact !== undefined) return exact
  const dot = name.indexOf('.')
  return dot === -1 ? undefined : contexts.get(`*${name.slice(dot)}`)
}

/**
 * Whether `socket` is a `tls.TLSSocket`, asked without loading `node:tls`
 * (as `instanceof` would): a TLSSocket, and only one, has `encrypted` set.
 */
export function isTlsSocket(socket: NetSocket): socket is TLSSocket {
  return (socket as Partial<TLSSocket>).encrypted === true
}

/** What `info.tls` reports. */
export function describeTls(socket: TLSSocket): TlsInfo {
  const peer = socket.getPeerCertificate()
  const hasPeer =
    peer !== null && typeof peer === 'object' && 'raw' in peer && peer.raw !== undefined
  const name = (fields: Record<string, unknown> | undefined) =>
    fields === undefined
      ? ''
      : Object.entries(fields)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
          .join(', ')
  return {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : undefined,
    authorized: socket.authorized,
    servername: typeof socket.servername === 'string' ? socket.servername : undefined,
    peerCertificate: hasPeer
      ? {
          subject: name(peer.subject as unknown as Record<string, unknown>),
          issuer: name(peer.issuer as unknown as Record<string, unknown>),
          subjectAltName: peer.subjectaltname,
          validFrom: peer.valid_from,
          validTo: peer.valid_to,
          fingerprint256: peer.fingerprint256,
          raw: new Uint8Array(peer.raw),
        }
      : undefined,
  }
}
