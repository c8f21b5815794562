/**
 * A `ByteChannel` over a `net.Socket` or `tls.TLSSocket`. It starts paused:
 * nothing is read from the kernel until the core's readable asks for it.
 */
import type { Socket as NetSocket } from 'node:net'
import type { SocketError } from '../../errors.ts'
import {
  type ByteChannel,
  type ByteChannelHandler,
  type ChannelInfo,
  type ChannelTuning,
  type TlsParams,
  unattachedHandler,
} from '../../platform.ts'
import { toSocketError } from './errors.ts'
import { nodeTls } from './lazy.ts'
import { GrowingReadBuffer, readIntoOwnBuffers, stopOwnReadBuffers } from './own-read-buffers.ts'
import { clientTlsOptions, describeTls, isTlsSocket, serverTlsOptions } from './tls.ts'

export interface NodeChannelOptions {
  /** The peer, for error messages, as "db:5432". */
  peer: string
  /** Which event means "open": `connect` (TCP), `secureConnect` (TLS client), `secure` (TLS server). */
  openEvent: 'connect' | 'secureConnect' | 'secure' | undefined
  /**
   * Reads go into buffers of ours (own-read-buffers.ts): a client passes
   * the one it gave `net.connect({ onread })`; `'accepted'` installs one
   * on an accepted plain TCP socket. Default: Node's `data` events.
   */
  reads?: GrowingReadBuffer | 'accepted' | undefined
}

/** The channel a socket reports to: the listeners below are shared by every socket. */
const channelOf = Symbol('sockworker.channel')

interface ReportingSocket extends NetSocket {
  [channelOf]: NodeByteChannel
}

// One set of listeners for all sockets, not six closures per connection
// (docs/benchmarks.md, per-connection cost): Node calls each with the
// socket as `this`, and the socket names its channel.
function onOpen(this: ReportingSocket): void {
  this[channelOf].opened()
}
function onData(this: ReportingSocket, chunk: Uint8Array): void {
  this[channelOf].handler.data(chunk)
}
function onEnd(this: ReportingSocket): void {
  this[channelOf].handler.end()
}
function onError(this: ReportingSocket, error: Error): void {
  this[channelOf].failed(error)
}
function onClose(this: ReportingSocket): void {
  this[channelOf].closed()
}
function onTimeout(this: ReportingSocket): void {
  this[channelOf].handler.idle()
}

export class NodeByteChannel implements ByteChannel {
  handler: ByteChannelHandler = unattachedHandler
  readonly #socket: NetSocket
  readonly #peer: string
  #open: boolean
  #error: SocketError | undefined
  #detached = false

  constructor(socket: NetSocket, options: NodeChannelOptions) {
    this.#socket = socket
    this.#peer = options.peer
    this.#open = options.openEvent === undefined
    ;(socket as ReportingSocket)[channelOf] = this
    if (options.reads === 'accepted' && !isTlsSocket(socket)) {
      readIntoOwnBuffers(socket, new GrowingReadBuffer((chunk) => this.handler.data(chunk)))
    }
    // Paused before a `data` listener exists, so that adding one does not
    // start a read: with reads into our own buffers, nothing would hold it.
    socket.pause()
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('error', onError)
    socket.on('close', onClose)
    socket.on('timeout', onTimeout)
    if (options.openEvent !== undefined) socket.once(options.openEvent, onOpen)
  }

  info(): ChannelInfo {
    const socket = this.#socket
    return {
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      tls: isTlsSocket(socket) && this.#open ? describeTls(socket) : undefined,
    }
  }

  pause(): void {
    if (!this.#detached) this.#socket.pause()
  }

  /** After `startTls()` the socket belongs to TLS: resuming it here would lose its bytes. */
  resume(): void {
    if (!this.#detached) this.#socket.resume()
  }

  write(chunk: Uint8Array, done: (error?: SocketError) => void): boolean {
    let released = false
    this.#socket.write(chunk, (error) => {
      if (!released) done(error ? this.#fault(error) : undefined)
    })
    released = this.#released()
    return released
  }

  /** Corked, Node hands the chunks to libuv as one list: one `writev` system call. */
  writev(chunks: Uint8Array[], done: (error?: SocketError) => void): boolean {
    let released = false
    const socket = this.#socket
    const last = chunks.length - 1
    socket.cork()
    for (let i = 0; i < last; i++) socket.write(chunks[i] as Uint8Array)
    socket.write(chunks[last] as Uint8Array, (error) => {
      if (!released) done(error ? this.#fault(error) : undefined)
    })
    socket.uncork()
    released = this.#released()
    return released
  }

  /**
   * Nothing left in Node's buffer means libuv wrote the chunks to the kernel
   * (or TLS encrypted them into its own buffer) synchronously: the caller's
   * memory is free now, and waiting for the callback would only add a tick.
   */
  #released(): boolean {
    return this.#socket.writableLength === 0 && !this.#socket.destroyed
  }

  end(done: (error?: SocketError) => void): void {
    if (this.#socket.writableEnded) return done()
    this.#socket.end(() => done())
  }

  destroy(error?: SocketError): void {
    if (error !== undefined) this.#error ??= error
    this.#socket.destroy()
  }

  tune(tuning: ChannelTuning): void {
    const socket = this.#socket
    if (tuning.noDelay !== undefined) socket.setNoDelay(tuning.noDelay)
    if (tuning.keepAlive !== undefined) {
      socket.setKeepAlive(tuning.keepAlive !== false, tuning.keepAlive || 0)
    }
    if (tuning.idleTimeout !== undefined) socket.setTimeout(tuning.idleTimeout)
  }

  startTls(params: TlsParams): ByteChannel {
    this.#detach()
    const socket = this.#socket
    const secured =
      params.role === 'client'
        ? nodeTls().connect({ ...clientTlsOptions(params), socket })
        : new (nodeTls().TLSSocket)(socket, { ...serverTlsOptions(params.tls), isServer: true })
    secured.setTimeout(socket.timeout ?? 0)
    return new NodeByteChannel(secured, {
      peer: this.#peer,
      openEvent: params.role === 'client' ? 'secureConnect' : 'secure',
    })
  }

  /** Hands the socket over: this channel reports nothing more. */
  #detach(): void {
    this.#detached = true
    const socket = this.#socket
    socket.off('data', onData)
    socket.off('end', onEnd)
    socket.off('close', onClose)
    socket.off('timeout', onTimeout)
    socket.off('connect', onOpen)
    stopOwnReadBuffers(socket)
    // Paused, bytes that arrived early stay buffered, and TLS takes them from
    // the buffer when it wraps the socket (they would be lost as 'data').
    socket.pause()
    // The error listener stays: TLS reports through the new socket, and an
    // unheard 'error' on the old one would crash the process.
  }

  #fault(error: unknown): SocketError {
    return toSocketError(error, this.#open ? `talk to ${this.#peer}` : `connect to ${this.#peer}`)
  }

  // What the shared listeners report; not part of `ByteChannel`.

  /** @internal The open event (`connect`, `secureConnect` or `secure`). */
  opened(): void {
    this.#open = true
    this.handler.open()
  }

  /** @internal An `error` event: kept for `close`, which follows it. */
  failed(error: Error): void {
    if (this.#detached) return
    this.#error ??= this.#fault(error)
  }

  /** @internal The `close` event. */
  closed(): void {
    this.handler.close(this.#error)
  }
}
