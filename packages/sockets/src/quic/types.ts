/**
 * The public shapes of QUIC connections: the WebTransport shape
 * (https://w3c.github.io/webtransport/) over a raw QUIC connection.
 */
import type { SocketOptions, SocketStats, TlsOptions } from '../types.ts'

/** Transport settings shared by QUIC clients and listeners. Every default is noted. */
export interface QuicTransportOptions {
  /** Close the connection after this many ms without packets. Default: `30000`; `0` never. */
  idleTimeout?: number
  /** Send a PING after this many ms of quiet, so that the idle timeout never fires: `true` is idleTimeout / 2. Default: `false`. */
  keepAlive?: boolean | number
  /** Bidirectional streams the peer may open at once. Default: `100`. */
  maxBidirectionalStreams?: number
  /** Unidirectional streams the peer may open at once. Default: `100`. */
  maxUnidirectionalStreams?: number
  /** Bytes the peer may send on one stream before we read them. Default: `262144` (256 KiB). */
  streamWindow?: number
  /** Bytes the peer may send on the whole connection before we read them. Default: `4194304` (4 MiB). */
  connectionWindow?: number
  /** Datagrams kept for `datagrams.readable` before new ones are dropped. Default: `1024`. */
  datagramQueue?: number
}

/** `new Socket({ type: 'quic', … })` options on top of `SocketOptions`. */
export interface QuicSocketOptions extends SocketOptions, QuicTransportOptions {}

/** What `closed` resolves with, and what `close()` sends. */
export interface QuicCloseInfo {
  /** The application's close code. Default: `0`. */
  closeCode?: number
  /** A short UTF-8 reason, at most 1024 bytes. Default: `''`. */
  reason?: string
}

/**
 * A QUIC connection's `stats`: a socket's byte and packet counts (QUIC
 * packets, from the engine) plus its streams and datagrams. Streams are
 * counted as they open, whoever then reads them; `packetsDropped` is
 * received datagrams dropped because `datagrams.readable` was full.
 */
export interface QuicStats extends SocketStats {
  /** Bidirectional streams the peer opened, the connection's own first one included. */
  incomingBidirectionalStreams: number
  /** Unidirectional streams the peer opened. */
  incomingUnidirectionalStreams: number
  /** Bidirectional streams this side opened. */
  outgoingBidirectionalStreams: number
  /** Unidirectional streams this side opened. */
  outgoingUnidirectionalStreams: number
  /** Datagrams that arrived from the peer, those dropped included. */
  datagramsReceived: number
  /** Datagrams handed to the engine to send (not those dropped as too large). */
  datagramsSent: number
}

/** A bidirectional QUIC stream: bytes both ways, like a TCP `Socket`. */
export interface QuicBidirectionalStream {
  readonly readable: ReadableStream<Uint8Array>
  readonly writable: WritableStream<ArrayBufferView | ArrayBuffer>
}

/** The unreliable datagrams of a connection (RFC 9221). */
export interface QuicDatagrams {
  /** Datagrams from the peer; when nobody reads, new ones are dropped. */
  readonly readable: ReadableStream<Uint8Array>
  /** A writable whose every write sends one datagram. */
  createWritable(): WritableStream<ArrayBufferView | ArrayBuffer>
  /** The largest datagram that fits in a packet now; larger writes are dropped. */
  readonly maxDatagramSize: number
}

/** `listen({ type: 'quic' })` options. */
export interface QuicListenOptions extends QuicTransportOptions {
  type: 'quic'
  /** Default: `'127.0.0.1'`. */
  hostname?: string
  /** Default: `0`, an ephemeral port. */
  port?: number
  /** Required: `cert`, `key` and `alpn`. `ca` and `requestCert` ask for client certificates. */
  tls: TlsOptions
  /** Aborting it closes the listener. */
  signal?: AbortSignal
  /** Bytes buffered in each stream's `readable` before the peer is slowed. Default: `65536`. */
  highWaterMark?: number
  /** Connections waiting to be taken from the listener before new ones are refused. Default: `511`. */
  backlog?: number
  /** Let several processes bind the same port (SO_REUSEPORT). Default: `false`. */
  reusePort?: boolean
}
