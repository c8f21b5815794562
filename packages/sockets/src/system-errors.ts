/**
 * A runtime's system errors, turned into `SocketError`s with stable codes and
 * messages that say what failed and where. The original error stays as
 * `cause`. Node, Deno and Bun all put the POSIX name (`ECONNREFUSED`) in
 * `code`, so one table serves every adapter; each adapter maps what is its
 * own (Deno's DNS and TLS errors) before calling this.
 */
import { isSocketError, SocketError, type SocketErrorCode } from './errors.ts'

const reasons: Partial<Record<SocketErrorCode, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'host name not found',
  EADDRINUSE: 'address in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  EACCES: 'permission denied',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'the peer closed the connection',
  EMSGSIZE: 'datagram too large',
}

/** OpenSSL's verification failures: each one means "the certificate was not accepted". */
const certificateCodes = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
])

/**
 * @param error what the runtime reported
 * @param action what we were doing, as "connect to db:5432"
 */
export function toSocketError(error: unknown, action: string): SocketError {
  if (isSocketError(error)) return error
  const code = (error as { code?: unknown } | null)?.code
  const detail = error instanceof Error ? error.message : String(error)
  if (typeof code === 'string' && certificateCodes.has(code)) {
    return new SocketError(
      'ERR_TLS_CERT',
      `Cannot ${action}: the server's TLS certificate was rejected: ${detail} (${code}). Pass its CA in tls.ca, or fix the certificate`,
      { cause: error },
    )
  }
  if (code === 'ERR_EGRESS_DENIED') {
    // The host's egress policy said no; its message already names the rule.
    return new SocketError('ERR_EGRESS_DENIED', `Cannot ${action}: ${detail}`, { cause: error })
  }
  if (code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') {
    return new SocketError('ENOTFOUND', `Cannot ${action}: host name not found (${code})`, {
      cause: error,
    })
  }
  if (typeof code === 'string' && code in reasons) {
    const known = code as SocketErrorCode
    return new SocketError(known, `Cannot ${action}: ${reasons[known]} (${known})`, {
      cause: error,
    })
  }
  if (typeof code === 'string' && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))) {
    return new SocketError('ERR_TLS_HANDSHAKE', `Cannot ${action}: TLS failed: ${detail}`, {
      cause: error,
    })
  }
  if (code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END') {
    return new SocketError('ERR_SOCKET_CLOSED', `Cannot ${action}: the socket is closed`, {
      cause: error,
    })
  }
  return new SocketError('ERR_SOCKET', `Cannot ${action}: ${detail}`, { cause: error })
}
