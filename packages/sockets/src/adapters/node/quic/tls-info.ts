/** `info.tls` for a QUIC connection, from what quiche reports. */
import type { PeerCertificate, TlsInfo } from '../../../types.ts'
import { nodeCrypto } from '../lazy.ts'
import type { Connection } from './binding.ts'

function peerCertificate(der: Uint8Array | undefined): PeerCertificate | undefined {
  if (der === undefined) return undefined
  const cert = new (nodeCrypto().X509Certificate)(der)
  const name = (text: string) => text.split('\n').filter(Boolean).join(', ')
  return {
    subject: name(cert.subject),
    issuer: name(cert.issuer),
    subjectAltName: cert.subjectAltName,
    validFrom: cert.validFrom,
    validTo: cert.validTo,
    fingerprint256: cert.fingerprint256,
    raw: new Uint8Array(der),
  }
}

/**
 * QUIC is always TLS 1.3. quiche does not expose the cipher suite, so
 * `cipher` is empty rather than a guess.
 */
export function describeQuicTls(conn: Connection, verified: boolean): TlsInfo {
  const alpn = new TextDecoder().decode(conn.applicationProto())
  return {
    protocol: 'TLSv1.3',
    cipher: '',
    alpn: alpn === '' ? undefined : alpn,
    peerCertificate: peerCertificate(conn.peerCertChain()?.[0]),
    authorized: verified,
    servername: conn.serverName() ?? undefined,
  }
}
