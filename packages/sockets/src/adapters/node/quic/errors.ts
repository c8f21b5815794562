/** quiche's connection errors as `SocketError`s with stable codes. */
import { SocketError } from '../../../errors.ts'
import type { ConnectionError } from './binding.ts'

/** TLS alerts travel as transport errors 0x100 + alert (RFC 9001 §4.8). */
const cryptoBase = 0x100
const certAlerts = new Map<number, string>([
  [42, 'bad certificate'],
  [43, 'unsupported certificate'],
  [44, 'certificate revoked'],
  [45, 'certificate expired'],
  [46, 'certificate unknown'],
  [48, 'unknown CA'],
  [116, 'certificate required'],
])
const noApplicationProtocol = 120

/**
 * The `SocketError` for a transport (not application) close: a TLS alert,
 * or another QUIC transport error. `by` says who detected it.
 */
export function transportError(
  error: ConnectionError,
  by: 'we' | 'the peer',
  where: string,
): SocketError {
  const code = error.errorCode
  const reason = new TextDecoder().decode(error.reason)
  const cause = new Error(
    `QUIC transport error 0x${code.toString(16)}${reason ? `: ${reason}` : ''}`,
  )
  if (code >= cryptoBase && code < cryptoBase + 0x100) {
    const alert = code - cryptoBase
    const certProblem = certAlerts.get(alert)
    if (certProblem !== undefined) {
      const who = by === 'we' ? 'we rejected the certificate' : 'the peer rejected our certificate'
      return new SocketError('ERR_TLS_CERT', `TLS with ${where} failed: ${who} (${certProblem})`, {
        cause,
      })
    }
    if (alert === noApplicationProtocol) {
      return new SocketError(
        'ERR_TLS_ALPN',
        `TLS with ${where} failed: no ALPN protocol in common; check tls.alpn on both sides`,
        { cause },
      )
    }
    return new SocketError('ERR_TLS_HANDSHAKE', `TLS with ${where} failed (alert ${alert})`, {
      cause,
    })
  }
  return new SocketError(
    'ERR_QUIC_TRANSPORT',
    `The QUIC connection with ${where} failed: ${cause.message} from ${by}`,
    {
      cause,
    },
  )
}
