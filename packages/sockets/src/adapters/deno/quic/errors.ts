/**
 * quinn's errors, as Deno 2.9 reports them (plain `Error`s with quinn's
 * message and no code), in our terms. The messages are quinn's `Display`
 * strings; the probes in docs/runtimes.md show each one.
 */
import { isSocketError, SocketError } from '../../../errors.ts'
import { toSocketError } from '../errors.ts'

/** `error 120` is TLS's no_application_protocol alert (RFC 8446 §6.2, RFC 9001 §8.1). */
const alpnMismatch = /error 120\b|doesn't support any known protocol/

/**
 * A connection's failure: a TLS alert, an idle timeout, a refusal.
 *
 * @param action what we were doing, as "connect to 127.0.0.1:4433"
 * @param idleTimeout for the message when quinn reports "timed out"
 */
export function quicError(error: unknown, action: string, idleTimeout: number): SocketError {
  if (isSocketError(error)) return error
  const detail = error instanceof Error ? error.message : String(error)
  if (/invalid peer certificate/.test(detail)) {
    return new SocketError(
      'ERR_TLS_CERT',
      `Cannot ${action}: the server's TLS certificate was rejected (${detail}). Pass its CA in tls.ca, or fix the certificate`,
      { cause: error },
    )
  }
  if (alpnMismatch.test(detail)) {
    return new SocketError(
      'ERR_TLS_ALPN',
      `Cannot ${action}: the peer accepts none of the ALPN protocols offered (${detail})`,
      { cause: error },
    )
  }
  if (/cryptographic handshake failed/.test(detail)) {
    return new SocketError('ERR_TLS_HANDSHAKE', `Cannot ${action}: TLS failed: ${detail}`, {
      cause: error,
    })
  }
  if (detail === 'timed out') {
    const what = action.startsWith('connect')
      ? 'no answer within idleTimeout'
      : 'the QUIC connection was idle for longer than idleTimeout'
    return new SocketError('ETIMEDOUT', `Cannot ${action}: ${what} (${idleTimeout} ms)`, {
      cause: error,
    })
  }
  if (/reset by peer|aborted by peer/.test(detail)) {
    return new SocketError('ECONNRESET', `Cannot ${action}: ${detail}`, { cause: error })
  }
  return toSocketError(error, action)
}

/** quinn's "stream reset by peer: error 9" and "sending stopped by peer: error 9". */
const streamCode = /(reset|stopped) by peer: error (\d+)/

/** A stream's read or write failure; a reset carries the peer's `streamErrorCode`. */
export function streamError(error: unknown, action: string): SocketError {
  const detail = error instanceof Error ? error.message : String(error)
  const match = streamCode.exec(detail)
  if (match === null) return toSocketError(error, action)
  const what = match[1] === 'reset' ? 'reset' : 'stopped'
  const code = Number(match[2])
  const reset = new SocketError(
    'ECONNRESET',
    `The peer ${what} the QUIC stream with code ${code}`,
    { cause: error },
  )
  return Object.assign(reset, { streamErrorCode: code })
}
