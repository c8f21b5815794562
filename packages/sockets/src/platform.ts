/**
 * The seam between the portable core and a runtime. An adapter in
 * `adapters/<runtime>/` implements `Platform`; the core builds sockets,
 * streams and listeners on top of it and never touches the runtime itself.
 *
 * Channels are deliberately lower level than web streams: they push bytes to
 * one handler and accept pause/resume, which every runtime can provide
 * cheaply, and which lets the core own the stream semantics in one place.
 */
import type { SocketError } from './errors.ts'
import type { TlsInfo, TlsOptions } from './types.ts'

export interface ChannelInfo {
  remoteAddress: string | undefined
  remotePort: number | undefined
  localAddress: string | undefined
  localPort: number | undefined
  tls: TlsInfo | undefined
}

/** What a byte channel reports. The core installs exactly one handler. */
export interface ByteChannelHandler {
  /** Connected, and when TLS is on, the handshake is done. */
  open(): void
  /**
   * A chunk from the peer. If it covers its whole ArrayBuffer, that buffer
   * must be one the core may transfer: never a shared pool.
   */
  data(chunk: Uint8Array): void
  /** The peer ended its side. */
  end(): void
  /** Nothing was sent or received for the idle timeout. */
  idle(): void
  /** Fully closed, with the error that closed it if any. Called once. */
  close(error: SocketError | undefined): void
}

/** A channel's handler until the core installs its own: it ignores everything. */
export const unattachedHandler: ByteChannelHandler = {
  open() {},
  data() {},
  end() {},
  idle() {},
  close() {},
}

/** Client or server TLS parameters for a channel. */
export interface TlsParams {
  role: 'client' | 'server'
  tls: TlsOptions
  /** Client: the SNI and certificate host name. */
  servername?: string | undefined
  /** Client: protocols to offer. Server: `tls.alpn` is used. */
  alpn?: string[] | undefined
}

export interface ChannelTuning {
  noDelay?: boolean
  keepAlive?: number | false
  idleTimeout?: number
}

/** A connected TCP or TLS byte stream, starting paused. */
export interface ByteChannel {
  handler: ByteChannelHandler
  info(): ChannelInfo
  pause(): void
  resume(): void
  /**
   * Sends `chunk`. Returns `true` when the runtime let go of it at once (it
   * reached the kernel, or TLS copied it), and then `done` is not called.
   * Otherwise `done` runs once the runtime no longer holds `chunk`: only
   * then may the caller reuse it.
   */
  write(chunk: Uint8Array, done: (error?: SocketError) => void): boolean
  /**
   * Optional: sends `chunks` in order, as one system call where the runtime
   * can (`writev`), with `write()`'s contract for the lot. Without it, the
   * core joins them into one buffer first.
   */
  writev?(chunks: Uint8Array[], done: (error?: SocketError) => void): boolean
  /** Sends FIN after pending writes; `done` runs when it is sent. */
  end(done: (error?: SocketError) => void): void
  destroy(error?: SocketError): void
  /** Optional: the caller's abort reason, just before `destroy()`; QUIC resets the stream with its code. */
  aborting?(reason: unknown): void
  /** Optional: the readable was cancelled; QUIC asks the peer to stop sending. */
  cancelRead?(reason: unknown): void
  tune(tuning: ChannelTuning): void
  /**
   * Wraps this connection in TLS and returns the new channel. This channel
   * reports nothing more; the new one reports `open` after the handshake.
   */
  startTls(params: TlsParams): ByteChannel
}

export interface StreamConnectRequest extends ChannelTuning {
  hostname: string
  port: number
  /** Set for TLS from the first byte. */
  tls: TlsParams | undefined
}

export interface ListenRequest {
  hostname: string
  port: number
  backlog: number
  reusePort: boolean
  /** Set for a TLS listener: connections arrive after the handshake. */
  tls: TlsParams | undefined
}

export interface ServerHandler {
  listening(port: number): void
  connection(channel: ByteChannel): void
  error(error: SocketError): void
  /** The listener stopped, with the error that stopped it if any. */
  close(error: SocketError | undefined): void
}

/** A server's handler until the core installs its own: it ignores everything. */
export const unattachedServerHandler: ServerHandler = {
  listening() {},
  connection() {},
  error() {},
  close() {},
}

export interface StreamServer {
  handler: ServerHandler
  close(): void
}

export interface DatagramHandler {
  listening(): void
  message(data: Uint8Array, address: string, port: number): void
  close(error: SocketError | undefined): void
}

/** A datagram channel's handler until the core installs its own: it ignores everything. */
export const unattachedDatagramHandler: DatagramHandler = {
  listening() {},
  message() {},
  close() {},
}

export interface DatagramBindRequest {
  /** Bind here; port `0` picks one. */
  localAddress: string | undefined
  localPort: number
  /** Connect to this peer so that plain sends need no destination. */
  remote: { hostname: string; port: number } | undefined
  reusePort: boolean
  /**
   * SO_RCVBUF to ask for, in bytes; the kernel caps it (Linux: at
   * `net.core.rmem_max`). `undefined` keeps the system default. Adapters
   * that cannot set it (Deno, Bun) ignore it.
   */
  receiveBufferSize?: number | undefined
}

/** A UDP socket. Datagrams are never split or merged. */
export interface DatagramChannel {
  handler: DatagramHandler
  info(): ChannelInfo
  /**
   * Sends one datagram. Returns `true` if it went to the kernel at once (the
   * write need not wait), `false` if it waits (not bound yet, a host name to
   * resolve, a full send queue). `done` comes either way, once it is sent or failed.
   */
  send(
    data: Uint8Array,
    to: { address: string; port: number } | undefined,
    done: (error?: SocketError) => void,
  ): boolean
  close(): void
}

export interface Platform {
  connectStream(request: StreamConnectRequest): ByteChannel
  listenStream(request: ListenRequest): StreamServer
  bindDatagram(request: DatagramBindRequest): DatagramChannel
}

let installed: Platform | undefined

/** Called once by the adapter module that the package's `exports` condition picked. */
export function installPlatform(platform: Platform): void {
  installed = platform
}

export function platform(): Platform {
  if (installed === undefined) {
    throw new Error(
      'No runtime adapter is loaded: import "@sockworker/sockets" rather than its src/ files',
    )
  }
  return installed
}
