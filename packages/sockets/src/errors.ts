/**
 * Errors with stable codes. A caller's mistake throws a `TypeError` or
 * `RangeError` at once; a network failure rejects a promise with a
 * `SocketError` whose `code` callers can branch on and whose `cause` keeps the
 * runtime's own error for debugging.
 */

/** The codes a `SocketError` can carry. The list may grow; existing codes never change meaning. */
export type SocketErrorCode =
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ETIMEDOUT'
  | 'ENOTFOUND'
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EACCES'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'EPIPE'
  | 'EMSGSIZE'
  | 'ERR_TLS_CERT'
  | 'ERR_TLS_HANDSHAKE'
  | 'ERR_TLS_ALPN'
  | 'ERR_QUIC_TRANSPORT'
  /**
   * Reserved for the host's egress policy (the sockworker runtime, or any
   * embedder that guards connections): this package never denies on its
   * own, but it passes a denial on as a `SocketError` with this code, so
   * that a driver sees one error type whichever layer refused.
   */
  | 'ERR_EGRESS_DENIED'
  /** The tunnel transport (`via`, in `tunnel/`) was refused its token. */
  | 'ERR_TUNNEL_AUTH'
  | 'ERR_SOCKET_CLOSED'
  /** The runtime cannot do what was asked (the message names the runtime and the feature). */
  | 'ERR_UNSUPPORTED'
  | 'ERR_SOCKET'

/**
 * A network failure: it rejects `opened`, `closed` and pending reads and writes.
 *
 * @example
 * try {
 *   await connect('127.0.0.1:1').opened
 * } catch (error) {
 *   if (error instanceof SocketError && error.code === 'ECONNREFUSED') retryLater()
 * }
 */
export class SocketError extends Error {
  override name = 'SocketError'
  readonly code: SocketErrorCode

  constructor(code: SocketErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/**
 * The runtime cannot do what was asked (Deno has no server-side StartTLS, for
 * example). The message names the runtime and the feature; the README's
 * capability table lists them all.
 */
export function unsupported(runtime: string, feature: string, advice?: string): SocketError {
  const tail = advice === undefined ? '' : `; ${advice}`
  return new SocketError('ERR_UNSUPPORTED', `${runtime} does not support ${feature}${tail}`)
}

/** True when `value` is a `SocketError`, also across realms and package copies. */
export function isSocketError(value: unknown): value is SocketError {
  return value instanceof SocketError || (value instanceof Error && value.name === 'SocketError')
}

/** The reason an abort rejects with when the caller gave none: never `undefined`. */
export function abortReason(reason: unknown, what: string): unknown {
  return reason === undefined ? new DOMException(`The ${what} was aborted`, 'AbortError') : reason
}

/**
 * "Closed" errors are made on every close that leaves a caller's writer
 * behind, and their stack would only show our own internals, so they are
 * made without one: capturing it costs more than the rest of the close.
 */
export function closedError(message: string): SocketError {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new SocketError('ERR_SOCKET_CLOSED', message)
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** Dispatched as `error` with the `SocketError` that closed the socket. */
export class SocketErrorEvent extends Event {
  readonly error: SocketError
  constructor(error: SocketError) {
    super('error')
    this.error = error
  }
}

/** The reason a closed socket's streams and signal abort with. */
export function closedReason(): DOMException {
  return new DOMException('The socket is closed', 'AbortError')
}
