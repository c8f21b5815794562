/**
 * The QUIC seam between the portable core and a runtime. It is separate from
 * `Platform` (byte channels and datagrams) because few runtimes have QUIC:
 * an adapter installs it only where it has an engine.
 *
 * A QUIC stream is a `ByteChannel`, so the core builds its readable and
 * writable with the same code as a TCP socket's: BYOB reads, backpressure
 * and half-close come for free.
 */
import { type SocketError, unsupported } from '../errors.ts'
import type { ByteChannel, ChannelInfo } from '../platform.ts'
import type { TlsOptions } from '../types.ts'

/** Transport parameters, resolved with their defaults. */
export interface QuicParams {
  idleTimeout: number
  keepAlive: number | false
  maxBidirectionalStreams: number
  maxUnidirectionalStreams: number
  streamWindow: number
  connectionWindow: number
  datagramQueue: number
}

/** A clean close: an application close, or a transport close without error. */
export interface QuicClose {
  closeCode: number
  reason: string
}

export interface QuicConnectionHandler {
  /** The handshake is done. */
  open(): void
  /** The peer opened a stream; it starts paused. */
  stream(channel: ByteChannel, bidirectional: boolean): void
  datagram(data: Uint8Array): void
  /** Closed cleanly (`error` undefined) or not. Called once. */
  close(info: QuicClose, error: unknown): void
}

export interface QuicConnectionChannel {
  handler: QuicConnectionHandler
  info(): ChannelInfo
  /**
   * A stream of ours. Its handler's `open` runs once the connection is up
   * and the peer allows one more stream; writes wait for that.
   */
  openStream(bidirectional: boolean): ByteChannel
  /** Queues one datagram; returns false when it was dropped (too large, or the queue is full). */
  sendDatagram(data: Uint8Array): boolean
  /** The largest datagram that fits now; 0 when the peer takes none. */
  maxDatagramSize(): number
  /** Sends CONNECTION_CLOSE with an application code. */
  close(info: QuicClose): void
  /** Closes at once; `closed` and the streams fail with `reason`. */
  destroy(reason: unknown): void
  stats(): {
    bytesSent: number
    bytesReceived: number
    packetsSent: number
    packetsReceived: number
  }
}

export interface QuicConnectRequest {
  hostname: string
  port: number
  servername: string
  alpn: string[]
  tls: TlsOptions
  params: QuicParams
}

export interface QuicListenRequest {
  hostname: string
  port: number
  reusePort: boolean
  alpn: string[]
  tls: TlsOptions
  params: QuicParams
}

export interface QuicServerHandler {
  listening(port: number): void
  connection(channel: QuicConnectionChannel): void
  close(error: SocketError | undefined): void
}

export interface QuicServer {
  handler: QuicServerHandler
  /** Stops accepting; open connections carry on. */
  close(): void
}

export interface QuicPlatform {
  connectQuic(request: QuicConnectRequest): QuicConnectionChannel
  listenQuic(request: QuicListenRequest): QuicServer
}

let installed: QuicPlatform | undefined

/** Called by an adapter that has a QUIC engine. */
export function installQuicPlatform(platform: QuicPlatform): void {
  installed = platform
}

export function quicPlatform(): QuicPlatform {
  if (installed === undefined) {
    throw new TypeError('QUIC is not available on this runtime: use type "tcp", "tls" or "udp"')
  }
  return installed
}

/**
 * For an adapter whose runtime has no QUIC engine behind it (or not in this
 * configuration): opening or listening throws `ERR_UNSUPPORTED` naming the
 * runtime, what it lacks and what to do.
 *
 * @example
 * installQuicPlatform(noQuic('Bun'))
 * installQuicPlatform(noQuic('Deno', 'QUIC without --unstable-net', 'run Deno with --unstable-net'))
 */
export function noQuic(
  runtime: string,
  feature = 'QUIC yet',
  advice = 'run QUIC on Node.js for now',
): QuicPlatform {
  const refuse = (): never => {
    throw unsupported(runtime, feature, advice)
  }
  return { connectQuic: refuse, listenQuic: refuse }
}

/**
 * A listener that fails as it starts, for an option its engine cannot
 * honour: `opened` rejects with `error`, as it would for a port in use.
 *
 * @example
 * if (cannot) return refusedServer(unsupported('Node.js', 'tls.sni on QUIC listeners'))
 */
export function refusedServer(error: SocketError): QuicServer {
  const server: QuicServer = {
    handler: { listening() {}, connection() {}, close() {} },
    close() {},
  }
  // The core installs its handler after listenQuic returns.
  queueMicrotask(() => server.handler.close(error))
  return server
}

/** Made by the QUIC module, so that `socket.ts` need not import it. */
let openQuicSocket: ((init: object) => object) | undefined

export function registerQuicSocket(open: (init: object) => object): void {
  openQuicSocket = open
}

/** `new Socket({ type: 'quic' })` lands here. */
export function quicSocket(init: object): object {
  if (openQuicSocket === undefined) quicPlatform()
  return openQuicSocket!(init)
}
