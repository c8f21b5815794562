/**
 * Deno's errors in our terms. Deno puts the POSIX name in `code` for system
 * errors, as Node does, so the shared table maps those; what Deno reports
 * differently (a failed DNS lookup, rustls' certificate and handshake
 * errors, a closed resource) is mapped here first.
 */
import { isSocketError, SocketError, unsupported } from '../../errors.ts'
import { toSocketError as fromSystemError } from '../../system-errors.ts'

/** The name every `ERR_UNSUPPORTED` from this adapter gives the runtime. */
export function denoUnsupported(feature: string, advice?: string): SocketError {
  return unsupported('Deno', feature, advice)
}

/**
 * @param error what Deno threw
 * @param action what we were doing, as "connect to db:5432"
 */
export function toSocketError(error: unknown, action: string): SocketError {
  if (isSocketError(error)) return error
  const name = error instanceof Error ? error.name : ''
  const detail = error instanceof Error ? error.message : String(error)
  if (detail.includes('--unstable-net')) {
    // Deno 2.x gates some socket options (reusePort) behind a flag.
    return denoUnsupported(
      `${action} this way without --unstable-net (${detail})`,
      'run Deno with --unstable-net',
    )
  }
  if (detail.startsWith('failed to lookup address information')) {
    return new SocketError('ENOTFOUND', `Cannot ${action}: host name not found (${detail})`, {
      cause: error,
    })
  }
  if (name === 'InvalidData' && /certificate|CertNotValid|UnknownIssuer/i.test(detail)) {
    return new SocketError(
      'ERR_TLS_CERT',
      `Cannot ${action}: the server's TLS certificate was rejected: ${detail}. Pass its CA in tls.ca, or fix the certificate`,
      { cause: error },
    )
  }
  if (name === 'InvalidData' || /\btls\b|handshake|alert/i.test(detail)) {
    return new SocketError('ERR_TLS_HANDSHAKE', `Cannot ${action}: TLS failed: ${detail}`, {
      cause: error,
    })
  }
  if (name === 'BadResource' || name === 'Interrupted') {
    return new SocketError('ERR_SOCKET_CLOSED', `Cannot ${action}: the socket is closed`, {
      cause: error,
    })
  }
  return fromSystemError(error, action)
}
