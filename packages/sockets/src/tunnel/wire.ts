/**
 * The tunnel's wire protocol, shared by the client transport and the daemon
 * (`sockworker tunnel serve`). One WebSocket carries one TCP connection.
 *
 * - Binary messages are the connection's bytes, in order, both ways.
 * - Text messages are control messages:
 *   - `open` (daemon → client): the target accepted the TCP connection.
 *   - `end` (either way): no more bytes this way (a TCP FIN). Half-close
 *     needs its own message: a WebSocket close frame ends both directions.
 *   - `ack <n>` (client → daemon): the client handed `n` more bytes to its
 *     reader. The daemon stops reading the target while more than `window`
 *     bytes are unacknowledged, which bounds what a client must buffer: a
 *     browser-style WebSocket cannot stop reading, so this credit is the only
 *     receive-side backpressure it can have.
 * - Close codes: 1000 after both ends (clean); 1001 the daemon shuts down;
 *   1011 (daemon) or 4000 (client) for a failure, with the reason
 *   `<SocketErrorCode>: <message>`.
 *
 * A client that does not offer `protocol` gets the raw mode: binary messages
 * only, open on upgrade, TCP end ↔ close 1000, no credit.
 *
 * @example
 * new WebSocket(url, [tunnelWire.protocol, tunnelWire.tokenPrefix + token])
 */
export const tunnelWire = {
  /** The subprotocol that selects this protocol. */
  protocol: 'sockworker-tunnel.v1',
  /** A second subprotocol carries the token: browser-style WebSockets cannot set headers. */
  tokenPrefix: 'sockworker-token.',
  open: 'open',
  end: 'end',
  ack: 'ack ',
  /** Bytes the daemon may send beyond the client's acknowledgements. */
  window: 1 << 20,
  /** The client acknowledges after handing over this many bytes. */
  ackEvery: 128 << 10,
  /** The largest binary message either side sends. */
  maxMessage: 1 << 20,
  closeNormal: 1000,
  closeGoingAway: 1001,
  closeDaemonError: 1011,
  closeClientError: 4000,
} as const

/** The most a close reason may hold (RFC 6455: 123 bytes of UTF-8). */
const maxReason = 123

/**
 * A close reason for a failure: `<code>: <message>`, cut to fit.
 *
 * @example
 * ws.close(tunnelWire.closeDaemonError, closeReason('ECONNREFUSED', 'Cannot connect to db:5432'))
 */
export function closeReason(code: string, message: string): string {
  const reason = `${code}: ${message}`
  const bytes = new TextEncoder().encode(reason)
  if (bytes.byteLength <= maxReason) return reason
  // Cut on a character boundary: the decoder drops a split last character.
  return new TextDecoder()
    .decode(bytes.subarray(0, maxReason - 3))
    .replace(/\uFFFD$/, '')
    .concat('...')
}

/**
 * Reads a reason made by `closeReason`.
 *
 * @example
 * parseCloseReason('ECONNREFUSED: Cannot connect') // { code: 'ECONNREFUSED', message: 'Cannot connect' }
 */
export function parseCloseReason(reason: string): { code: string; message: string } | undefined {
  const match = /^([A-Z][A-Z0-9_]*): (.*)$/s.exec(reason)
  if (match === null) return undefined
  return { code: match[1] ?? '', message: match[2] ?? '' }
}
