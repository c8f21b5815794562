/**
 * A `ByteChannel` over a Bun TCP or TLS socket.
 *
 * Bun's `write()` may take part of a chunk; the rest waits in a `WriteQueue`
 * and goes out on `drain`. Bun hands every `data` callback a fresh `Buffer`
 * that owns its whole `ArrayBuffer` and never reuses it (checked on Bun 1.4.4
 * over TCP and TLS), so chunks go to the core uncopied.
 *
 * Bun dispatches to one handler object per listener or connection; the
 * socket's `data` field holds the channel the callbacks belong to.
 */
import { closedError, type SocketError } from '../../errors.ts'
import {
  type ByteChannel,
  type ChannelInfo,
  type ChannelTuning,
  type TlsParams,
  unattachedHandler,
} from '../../platform.ts'
import type { BunSocket, BunSocketHandler } from './api.ts'
import { handshakeError, toSocketError } from './errors.ts'
import { IdleTimer } from './idle-timer.ts'
import { clientTlsOptions, describeTls, serverTlsOptions } from './tls.ts'
import { type Done, WriteQueue } from './write-queue.ts'

/** How long a destroyed TLS socket may take to close cleanly before it is cut. */
const LINGER_MS = 10_000

export interface BunChannelOptions {
  /** The peer, for error messages, as "db:5432". */
  peer: string
  /** Set for TLS: the channel opens after the handshake. */
  handshake?: 'client' | 'server'
  /** Runs when the channel opens. Default: the handler's `open()`. A listener hands the channel over here. */
  ready?: (channel: BunByteChannel) => void
  /** Runs when a server-side handshake fails, before the close. Default: nothing. */
  rejected?: (error: SocketError) => void
}

/** Bun's callbacks, routed to the channel in `socket.data` (none, or a detached one, on the raw half of an upgrade). */
export const channelHandlers: BunSocketHandler<BunByteChannel | undefined> = {
  open: (socket) => socket.data?.attach(socket as BunSocket<BunByteChannel>),
  handshake: (socket, success, error) => socket.data?.handshake(success, error),
  data: (socket, data) => socket.data?.received(data),
  drain: (socket) => socket.data?.drain(),
  end: (socket) => socket.data?.ended(),
  error: (socket, error) => socket.data?.failed(error),
  close: (socket, error) => socket.data?.closed(error),
}

export class BunByteChannel implements ByteChannel {
  handler = unattachedHandler
  readonly #options: BunChannelOptions
  #socket: BunSocket<BunByteChannel> | undefined
  /** Open: connected, and the TLS handshake (if any) done. */
  #open = false
  #paused = true
  readonly #writes = new WriteQueue()
  /** `end()` callers waiting for the queue to drain before FIN. */
  #ending: Done[] | undefined
  #shut = false
  #error: SocketError | undefined
  #finished = false
  /** Handed to TLS: reports nothing more, but still flushes what it was given. */
  #detached = false
  /** The TLS upgrade waiting for the plaintext queue to drain, and the channel it opens. */
  #upgrade: (() => void) | undefined
  #successor: BunByteChannel | undefined
  #tuning: ChannelTuning = {}
  #info: ChannelInfo | undefined
  readonly #idle = new IdleTimer(() => this.handler.idle())
  /** A TLS socket closing in the background after `destroy()`. */
  #linger: ReturnType<typeof setTimeout> | undefined

  constructor(options: BunChannelOptions) {
    this.#options = options
  }

  info(): ChannelInfo {
    const socket = this.#socket
    if (socket === undefined || this.#finished) return this.#info ?? emptyInfo()
    return {
      remoteAddress: socket.remoteAddress ?? this.#info?.remoteAddress,
      remotePort: socket.remotePort ?? this.#info?.remotePort,
      localAddress: socket.localAddress ?? this.#info?.localAddress,
      localPort: socket.localPort ?? this.#info?.localPort,
      tls: this.#options.handshake !== undefined && this.#open ? describeTls(socket) : undefined,
    }
  }

  pause(): void {
    this.#paused = true
    if (this.#open && !this.#detached) this.#socket?.pause()
  }

  resume(): void {
    this.#paused = false
    if (this.#open && !this.#detached) this.#socket?.resume()
  }

  write(chunk: Uint8Array, done: Done): boolean {
    if (this.#finished || this.#shut || this.#detached) {
      const error = this.#error ?? closedError('Cannot write: the socket is closed')
      queueMicrotask(() => done(error))
      return false
    }
    const socket = this.#socket
    if (socket !== undefined && this.#open && this.#writes.empty) {
      const written = socket.write(chunk)
      this.#idle.touch()
      if (written === chunk.byteLength) return true
      if (written > 0) chunk = chunk.subarray(written)
    }
    this.#writes.push(chunk, done)
    return false
  }

  end(done: Done): void {
    if (this.#shut || this.#finished) return done()
    ;(this.#ending ??= []).push(done)
    if (this.#open && this.#writes.empty) this.#shutdown()
  }

  destroy(error?: SocketError): void {
    if (error !== undefined) this.#error ??= error
    if (this.#finished || this.#detached) return
    const socket = this.#socket
    // Still connecting: report the close now; attach() ends the socket if it comes.
    if (socket === undefined) return this.#finish()
    // end() closes with a FIN, as closing the descriptor does on Node;
    // terminate() would reset the connection under the peer. A plain socket
    // closes within end().
    if (error === undefined) return this.#close(socket)
    socket.end()
    // A failure (abort, a timeout) does not wait on a TLS peer.
    if (!this.#finished) socket.terminate()
  }

  tune(tuning: ChannelTuning): void {
    this.#tuning = { ...this.#tuning, ...tuning }
    if (tuning.idleTimeout !== undefined) this.#idle.set(tuning.idleTimeout)
    if (this.#socket !== undefined) this.#applyTuning(this.#socket, tuning)
  }

  startTls(params: TlsParams): ByteChannel {
    const socket = this.#socket
    if (socket === undefined || !this.#open || this.#detached) {
      throw new Error('Cannot start TLS on a connection that is not open')
    }
    const tls = params.role === 'client' ? clientTlsOptions(params) : serverTlsOptions(params.tls)
    const next = new BunByteChannel({ peer: this.#options.peer, handshake: params.role })
    next.#tuning = this.#tuning
    if (this.#tuning.idleTimeout !== undefined) next.#idle.set(this.#tuning.idleTimeout)
    this.#detached = true
    this.#idle.stop()
    // What the peer sends now is TLS: it stays in the kernel until the TLS half reads it.
    socket.pause()
    const upgrade = () => {
      // The raw half keeps calling the handlers with the ciphertext, and
      // this detached channel ignores it. Bun calls `open` on the TLS half
      // within upgradeTLS(), which attaches it to `next`.
      socket.upgradeTLS({
        data: next,
        tls,
        ...(params.role === 'server' ? { isServer: true } : {}),
        socket: channelHandlers as BunSocketHandler<BunByteChannel>,
      })
    }
    // Plaintext the caller wrote before the upgrade goes out first.
    if (this.#writes.empty) upgrade()
    else {
      this.#upgrade = upgrade
      this.#successor = next
    }
    return next
  }

  /** Bun's `open`: the socket exists. For TLS the handshake starts now. */
  attach(socket: BunSocket<BunByteChannel>): void {
    if (this.#finished) return void socket.end()
    this.#socket = socket
    this.#applyTuning(socket, this.#tuning)
    // Reading must go on through the handshake, whatever the raw half's state.
    if (this.#options.handshake !== undefined) return void socket.resume()
    this.#opened()
  }

  /** Bun's `handshake`. */
  handshake(success: boolean, error: Error | null): void {
    if (this.#finished || this.#detached || this.#open) return
    if (!success) {
      const failure = handshakeError(error, this.#action())
      this.#error ??= failure
      this.#options.rejected?.(failure)
      // Gracefully, so that the peer gets the TLS alert that says why.
      if (this.#socket !== undefined) this.#close(this.#socket)
      return
    }
    this.#opened()
  }

  /** `Bun.connect()` rejected: refused, not found, unreachable... */
  connectFailed(error: unknown): void {
    this.#error ??= toSocketError(error, this.#action())
    this.#finish()
  }

  received(data: Uint8Array): void {
    if (this.#detached || this.#finished) return
    this.#idle.touch()
    this.handler.data(data)
  }

  drain(): void {
    this.#idle.touch()
    this.#flush()
  }

  ended(): void {
    if (this.#detached) return
    this.handler.end()
  }

  failed(error: Error): void {
    if (this.#detached) return
    this.#error ??= toSocketError(error, this.#action())
  }

  closed(error: Error | undefined): void {
    clearTimeout(this.#linger)
    if (this.#detached) {
      // Closed before the upgrade could start: the TLS channel fails to open.
      if (this.#upgrade === undefined) return
      this.#upgrade = undefined
      const reason = error ?? closedError('The connection closed before TLS could start')
      return this.#successor?.connectFailed(reason)
    }
    if (error !== undefined) this.#error ??= toSocketError(error, this.#action())
    this.#finish()
  }

  #opened(): void {
    const socket = this.#socket!
    this.#open = true
    if (this.#paused) socket.pause()
    else socket.resume()
    this.#info = this.info()
    this.#flush()
    const ready = this.#options.ready
    if (ready === undefined) this.handler.open()
    else ready(this)
  }

  /** Writes what waits, as far as the socket takes it; FIN or the upgrade follow an empty queue. */
  #flush(): void {
    const socket = this.#socket
    if (socket === undefined || !this.#open || this.#finished) return
    if (!this.#writes.flush(socket)) return
    const upgrade = this.#upgrade
    if (upgrade !== undefined) {
      this.#upgrade = undefined
      this.#successor = undefined
      return upgrade()
    }
    if (this.#ending !== undefined) this.#shutdown()
  }

  #shutdown(): void {
    this.#shut = true
    this.#socket?.shutdown()
    const waiting = this.#ending ?? []
    this.#ending = undefined
    for (const done of waiting) done()
  }

  /**
   * Closes with a FIN. A plain socket closes within `end()`; TLS waits to
   * flush and to trade close_notify, for as long as the peer takes, so the
   * close is reported now and ends in the background, within a grace period.
   */
  #close(socket: BunSocket<BunByteChannel>): void {
    socket.end()
    if (this.#finished) return
    this.#finish()
    this.#linger = setTimeout(() => socket.terminate(), LINGER_MS)
    ;(this.#linger as { unref?: () => void }).unref?.()
  }

  #applyTuning(socket: BunSocket<BunByteChannel>, tuning: ChannelTuning): void {
    if (tuning.noDelay !== undefined) socket.setNoDelay(tuning.noDelay)
    if (tuning.keepAlive !== undefined) {
      socket.setKeepAlive(tuning.keepAlive !== false, tuning.keepAlive || 0)
    }
  }

  #action(): string {
    return this.#open ? `talk to ${this.#options.peer}` : `connect to ${this.#options.peer}`
  }

  #finish(): void {
    if (this.#finished) return
    if (this.#socket !== undefined && this.#info === undefined) this.#info = this.info()
    this.#finished = true
    this.#idle.stop()
    const error = this.#error
    const failure =
      error ?? closedError('Cannot write: the socket closed before the write was sent')
    this.#writes.fail(failure)
    for (const done of this.#ending?.splice(0) ?? []) done(error)
    // Bun reports `close` inside the call that caused it (end(), terminate());
    // the core expects it afterwards, as Node reports it.
    queueMicrotask(() => this.handler.close(error))
  }
}

function emptyInfo(): ChannelInfo {
  return {
    remoteAddress: undefined,
    remotePort: undefined,
    localAddress: undefined,
    localPort: undefined,
    tls: undefined,
  }
}
