/**
 * How a quiche connection ended, as the core's `close(info, error)` wants
 * it: a clean close with its code and reason, or an error that says what
 * happened (our abort, an idle timeout, a transport error either side).
 */
import { SocketError } from '../../../errors.ts'
import type { QuicClose } from '../../../quic/platform.ts'
import type { Connection } from './binding.ts'
import { transportError } from './errors.ts'

export interface EndState {
  /** Why we destroyed the connection, if we did. */
  error: unknown
  /** The close we asked for, if we did. */
  ourClose: QuicClose | undefined
  started: boolean
  opened: boolean
  idleTimeout: number
  /** The peer, as `host:port`. */
  where: string
}

export function closeOutcome(
  conn: Connection,
  state: EndState,
): { info: QuicClose; error: unknown } {
  const clean = { closeCode: 0, reason: '' }
  if (state.error !== undefined) return { info: clean, error: state.error }
  if (state.ourClose !== undefined && !state.started) {
    return { info: state.ourClose, error: undefined }
  }
  if (conn.isTimedOut()) {
    const message = state.opened
      ? `The QUIC connection with ${state.where} was idle for longer than idleTimeout (${state.idleTimeout} ms)`
      : `Cannot connect to ${state.where}: no answer within idleTimeout (${state.idleTimeout} ms)`
    return { info: clean, error: new SocketError('ETIMEDOUT', message) }
  }
  const peer = conn.peerError()
  if (peer !== null) {
    if (peer.isApp || peer.errorCode === 0) {
      const reason = new TextDecoder().decode(peer.reason)
      return { info: { closeCode: peer.isApp ? peer.errorCode : 0, reason }, error: undefined }
    }
    return { info: clean, error: transportError(peer, 'the peer', state.where) }
  }
  const local = conn.localError()
  if (state.ourClose !== undefined) return { info: state.ourClose, error: undefined }
  if (local !== null && !local.isApp && local.errorCode !== 0) {
    return { info: clean, error: transportError(local, 'we', state.where) }
  }
  return { info: clean, error: undefined }
}

export function closedConnection(): SocketError {
  return new SocketError('ERR_SOCKET_CLOSED', 'The QUIC connection was closed')
}
