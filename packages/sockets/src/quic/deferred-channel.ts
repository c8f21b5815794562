/**
 * The channel behind an accepted connection's own `readable` and `writable`
 * when they are used before the peer has opened its first bidirectional
 * stream. It keeps what the core asks of it (reads wanted, writes, the end,
 * an abort) until that stream arrives, hands it over, and from then on
 * passes every call straight through.
 */
import { SocketError } from '../errors.ts'
import {
  type ByteChannel,
  type ByteChannelHandler,
  type ChannelInfo,
  unattachedHandler,
} from '../platform.ts'

type Done = (error?: SocketError) => void

export class DeferredChannel implements ByteChannel {
  handler: ByteChannelHandler = unattachedHandler
  readonly #info: () => ChannelInfo
  #inner: ByteChannel | undefined
  #resumed = false
  #writes: Array<{ chunk: Uint8Array; done: Done }> = []
  #end: Done | undefined
  #cancelled: { reason: unknown } | undefined
  /** Set by an abort before the stream arrived: it is reset when it does. */
  #abortReason: { reason: unknown } | undefined
  /** The core has heard `close`: the connection ended or the caller destroyed us. */
  #closed = false

  /** `info` answers for the connection until the stream exists. */
  constructor(info: () => ChannelInfo) {
    this.#info = info
  }

  /** The peer's first bidirectional stream: it takes over from here. */
  bind(inner: ByteChannel): void {
    if (this.#closed) {
      inner.aborting?.(this.#abortReason?.reason)
      return inner.destroy()
    }
    this.#inner = inner
    inner.handler = this.handler
    this.handler.open()
    if (this.#cancelled !== undefined) inner.cancelRead?.(this.#cancelled.reason)
    if (this.#resumed) inner.resume()
    const writes = this.#writes
    this.#writes = []
    for (const { chunk, done } of writes) {
      // This write told its caller to wait: tell it now if the stream let go at once.
      if (inner.write(chunk, done)) done()
    }
    if (this.#end !== undefined) inner.end(this.#end)
  }

  /** The connection ended before the peer opened a stream; `error` is why, if it failed. */
  fail(error: SocketError | undefined): void {
    if (this.#inner !== undefined || this.#closed) return
    this.#closed = true
    const failure = error ?? new SocketError('ERR_SOCKET_CLOSED', 'The QUIC connection is closed')
    for (const { done } of this.#writes.splice(0)) done(failure)
    this.#end?.(failure)
    this.#end = undefined
    this.handler.close(error)
  }

  info(): ChannelInfo {
    return this.#inner?.info() ?? this.#info()
  }

  pause(): void {
    if (this.#inner !== undefined) return this.#inner.pause()
    this.#resumed = false
  }

  resume(): void {
    if (this.#inner !== undefined) return this.#inner.resume()
    this.#resumed = true
  }

  write(chunk: Uint8Array, done: Done): boolean {
    if (this.#inner !== undefined) return this.#inner.write(chunk, done)
    if (this.#closed) {
      queueMicrotask(() => done(new SocketError('ERR_SOCKET_CLOSED', 'The QUIC stream is closed')))
      return false
    }
    this.#writes.push({ chunk, done })
    return false
  }

  end(done: Done): void {
    if (this.#inner !== undefined) return this.#inner.end(done)
    if (this.#closed) return queueMicrotask(() => done())
    this.#end = done
  }

  destroy(error?: SocketError): void {
    if (this.#inner !== undefined) return this.#inner.destroy(error)
    // The core hears of the close now; the stream is reset when it arrives.
    this.#abortReason ??= { reason: undefined }
    this.fail(error)
  }

  aborting(reason: unknown): void {
    if (this.#inner !== undefined) return this.#inner.aborting?.(reason)
    this.#abortReason = { reason }
  }

  cancelRead(reason: unknown): void {
    if (this.#inner !== undefined) return this.#inner.cancelRead?.(reason)
    this.#cancelled = { reason }
  }

  tune(): void {}

  startTls(): ByteChannel {
    throw new TypeError('Cannot start TLS on a QUIC stream: QUIC is always encrypted')
  }
}
