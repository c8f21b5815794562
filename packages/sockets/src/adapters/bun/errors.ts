/**
 * Bun's errors as `SocketError`s. Bun reports the same errno-style codes as
 * Node (`ECONNREFUSED`, `EADDRINUSE`, OpenSSL's verification codes), so the
 * mapping is Node's; only TLS handshake failures and the features Bun lacks
 * need words of their own.
 */
import { SocketError } from '../../errors.ts'
import { toSocketError as errnoToSocketError } from '../node/errors.ts'

/**
 * @param error what Bun reported
 * @param action what we were doing, as "connect to db:5432"
 */
export function toSocketError(error: unknown, action: string): SocketError {
  const code = (error as { code?: unknown } | null)?.code
  // Bun.dns prefixes its codes: DNS_ENOTFOUND.
  if (typeof code === 'string' && code.startsWith('DNS_')) {
    return new SocketError('ENOTFOUND', `Cannot ${action}: host name not found (${code})`, {
      cause: error,
    })
  }
  const mapped = errnoToSocketError(error, action)
  // BoringSSL's alerts (a refused client certificate, a protocol mismatch)
  // reach the error handler with its reason text and no code of Node's.
  if (mapped.code === 'ERR_SOCKET' && /SSL routines|TLSV1_ALERT/.test(mapped.message)) {
    return new SocketError('ERR_TLS_HANDSHAKE', mapped.message.replace(': ', ': TLS failed: '), {
      cause: error,
    })
  }
  return mapped
}

/**
 * A failed handshake: a rejected certificate keeps its `ERR_TLS_CERT`, and
 * anything else (a protocol error, a reset mid-handshake) is `ERR_TLS_HANDSHAKE`.
 */
export function handshakeError(error: Error | null | undefined, action: string): SocketError {
  const mapped = toSocketError(error ?? new Error('the TLS handshake failed'), action)
  if (mapped.code === 'ERR_TLS_CERT' || mapped.code === 'ERR_TLS_HANDSHAKE') return mapped
  return new SocketError(
    'ERR_TLS_HANDSHAKE',
    `Cannot ${action}: TLS failed: ${error?.message ?? 'the handshake did not complete'}`,
    { cause: error },
  )
}

/** What Bun cannot do, said as such, so that portable code can branch on the code. */
export function unsupported(feature: string): SocketError {
  return new SocketError(
    'ERR_UNSUPPORTED',
    `Bun ${bunVersion()} cannot ${feature}; run this on Node.js, or do without it`,
  )
}

function bunVersion(): string {
  return (globalThis as { Bun?: { version?: string } }).Bun?.version ?? ''
}
