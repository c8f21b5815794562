/**
 * Web streams over a byte channel (TCP or TLS): a `type: 'bytes'` readable
 * that pauses the channel when its queue is full, and a writable whose writes
 * resolve once the runtime has let go of the chunk. Backpressure therefore
 * runs end to end through TCP flow control, with no unbounded buffer.
 *
 * The channel can be swapped for its TLS successor (`update()`), and the
 * streams carry on over it: that is what an in-place upgrade means.
 */

import { joinBytes, ownedBytes, toBytes } from './bytes.ts'
import { closedError, SocketError } from './errors.ts'
import { fastPipe, type PipeEnd, type PipeOptions, type PipeSink } from './pipe-fast-path.ts'
import type { ByteChannel, ByteChannelHandler, ChannelInfo, TlsParams } from './platform.ts'
import { nextTurn, noop } from './promises.ts'
import type { SocketStats } from './types.ts'
import { gateReadyOnOpen } from './writer-ready.ts'

export interface TransportEvents {
  open(): void
  /** The transport is fully closed; `error` is why, if it failed. */
  close(error: unknown): void
}

export interface StreamTransportOptions {
  allowHalfOpen: boolean
  highWaterMark: number
  /** Whether `writer.ready` should wait for the connection: false for accepted sockets. */
  connecting: boolean
}

/** The transport behind each writable of ours, for the `pipeTo` fast path. */
const pipeEnds = new WeakMap<WritableStream, StreamTransport>()

export class StreamTransport implements PipeEnd {
  #channel: ByteChannel
  #options: StreamTransportOptions
  #events: TransportEvents
  #handler: ByteChannelHandler | undefined
  #readable: ReadableStream<Uint8Array> | undefined
  #reader: ReadableByteStreamController | undefined
  #writable: WritableStream<ArrayBufferView | ArrayBuffer> | undefined
  #writer: WritableStreamDefaultController | undefined
  #inflight: Promise<void> | undefined
  /**
   * Settles when the channel is open: made only for a connection still
   * opening, since an accepted one is open already and most never ask.
   */
  #open: PromiseWithResolvers<void> | undefined
  #readDone = false
  #readFailure: unknown
  #writeDone = false
  #writeFailure: unknown
  #wasOpen = false
  #openSettled = false
  #abortReason: unknown
  #upgrading = false
  /** Channels start paused; the readable's first pull resumes it. */
  #paused = true
  /** Set while a `pipeTo` fast path takes the incoming bytes. */
  #divert: PipeSink | undefined
  /** Set while a `pipeTo` fast path writes here: its `idle()` resolves once it holds no chunk. */
  #feeder: PipeSink | undefined
  #finished = false
  #stats: SocketStats = {
    bytesSent: 0,
    bytesReceived: 0,
    packetsSent: 0,
    packetsReceived: 0,
    packetsDropped: 0,
  }

  constructor(channel: ByteChannel, options: StreamTransportOptions, events: TransportEvents) {
    this.#channel = channel
    this.#options = options
    this.#events = events
    if (options.connecting) {
      this.#open = Promise.withResolvers<void>()
      this.#open.promise.catch(noop)
    } else {
      this.#openSettled = true
    }
    this.#attach(channel)
  }

  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= this.#createReadable()
    return this.#readable
  }

  get writable(): WritableStream<ArrayBufferView | ArrayBuffer> {
    this.#writable ??= this.#createWritable()
    return this.#writable
  }

  get stats(): SocketStats {
    return { ...this.#stats }
  }

  info(): ChannelInfo {
    return this.#channel.info()
  }

  get channel(): ByteChannel {
    return this.#channel
  }

  /** Flushes pending writes, sends FIN, then tears the connection down. */
  async close(): Promise<void> {
    if (this.#finished) return
    await this.#endWritable('The socket was closed')
    this.#endReadable()
    this.#channel.destroy()
  }

  abort(reason: unknown): void {
    this.#abortReason ??= reason
    this.#fail(reason)
    this.#channel.aborting?.(reason)
    this.#channel.destroy()
  }

  /**
   * Hands the connection to TLS for a new socket (`startTls()`): this
   * transport's streams end here, and the returned channel carries on.
   */
  detachForTls(params: TlsParams): ByteChannel {
    const tlsChannel = this.#channel.startTls(params)
    this.#writeDone = true
    this.#writer?.error(closedError('The socket was upgraded with startTls(); use the new socket'))
    this.#endReadable()
    this.#finish(undefined)
    return tlsChannel
  }

  /** Upgrades in place (`update({ type: 'tls' })`): same streams, TLS underneath. */
  async upgradeInPlace(params: TlsParams): Promise<void> {
    // Stop reading at once: the next bytes from the peer are TLS, and must
    // not be delivered as plaintext while pending writes flush.
    this.#upgrading = true
    this.#pause()
    await this.#flushWrites()
    const opened = Promise.withResolvers<void>()
    this.#open = opened
    this.#openSettled = false
    this.#channel = this.#channel.startTls(params)
    this.#attach(this.#channel)
    this.#upgrading = false
    if ((this.#reader?.desiredSize ?? 0) > 0) {
      this.#paused = false
      this.#channel.resume()
    }
    return opened.promise
  }

  #attach(channel: ByteChannel): void {
    this.#handler ??= new StreamTransport.#ChannelEvents(this)
    channel.handler = this.#handler
  }

  /**
   * A transport's channel handler: one object with shared methods, where
   * closures would cost five per connection (docs/benchmarks.md). Declared
   * in here to reach the transport's private members.
   */
  static readonly #ChannelEvents = class ChannelEvents implements ByteChannelHandler {
    readonly #transport: StreamTransport

    constructor(transport: StreamTransport) {
      this.#transport = transport
    }

    open(): void {
      const transport = this.#transport
      transport.#openSettled = true
      transport.#open?.resolve()
      if (transport.#wasOpen) return
      transport.#wasOpen = true
      transport.#events.open()
    }

    data(chunk: Uint8Array): void {
      this.#transport.#onData(chunk)
    }

    end(): void {
      this.#transport.#onEnd()
    }

    idle(): void {
      this.#transport.abort(
        new SocketError('ETIMEDOUT', 'The socket was idle for longer than idleTimeout'),
      )
    }

    close(channelError: SocketError | undefined): void {
      const transport = this.#transport
      const error = channelError ?? transport.#abortReason
      if (!transport.#openSettled) {
        transport.#open?.reject(error ?? closedError('The connection closed before it was open'))
      }
      if (error === undefined) transport.#endReadable()
      transport.#fail(error, 'The connection was closed')
      transport.#finish(error)
    }
  }

  #createReadable(): ReadableStream<Uint8Array> {
    return new ByteReadable(this, new StreamTransport.#Source(this), {
      highWaterMark: this.#options.highWaterMark,
    })
  }

  /** The readable's underlying source: shared methods, not three closures per socket. */
  static readonly #Source = class Source implements ByteSource {
    readonly type = 'bytes'
    readonly #transport: StreamTransport

    constructor(transport: StreamTransport) {
      this.#transport = transport
    }

    start(controller: ReadableByteStreamController): void {
      const transport = this.#transport
      transport.#reader = controller
      if (!transport.#readDone) return
      if (transport.#readFailure === undefined) controller.close()
      else controller.error(transport.#readFailure)
    }

    pull(): void {
      this.#transport.hold(false)
    }

    cancel(reason: unknown): void {
      // Nothing will read what arrives, so stop asking the peer for it.
      const transport = this.#transport
      transport.#readDone = true
      transport.#pause()
      transport.#channel.cancelRead?.(reason)
    }
  }

  /** The writable's underlying sink: shared methods, not four closures per socket. */
  static readonly #Sink = class Sink {
    readonly #transport: StreamTransport

    constructor(transport: StreamTransport) {
      this.#transport = transport
    }

    start(controller: WritableStreamDefaultController): void {
      const transport = this.#transport
      transport.#writer = controller
      if (transport.#writeDone) {
        controller.error(transport.#writeFailure ?? closedError('The socket is closed'))
      }
    }

    write(chunk: ArrayBufferView | ArrayBuffer): Promise<void> | undefined {
      return this.#transport.#write(toBytes(chunk))
    }

    async close(): Promise<void> {
      const transport = this.#transport
      if (transport.#writeDone) return
      transport.#writeDone = true
      await new Promise<void>((resolve, reject) =>
        transport.#channel.end((error) => (error ? reject(error) : resolve())),
      )
    }

    abort(reason: unknown): void {
      this.#transport.abort(reason)
    }
  }

  #createWritable(): WritableStream<ArrayBufferView | ArrayBuffer> {
    const writable = new WritableStream<ArrayBufferView | ArrayBuffer>(
      new StreamTransport.#Sink(this),
      { highWaterMark: 1 },
    )
    // An accepted connection is open already: its writers need no gate,
    // which costs each one an own property (docs/benchmarks.md, idle memory).
    if (this.#options.connecting && this.#open !== undefined) {
      gateReadyOnOpen(writable, this.#open.promise)
    }
    pipeEnds.set(writable, this)
    return writable
  }

  // PipeEnd: the `pipeTo` fast path (pipe-fast-path.ts).

  /** A closed readable reports its whole high-water mark, so the pipe reads on to its end. */
  queuedBytes(): number {
    const hwm = this.#options.highWaterMark
    return hwm - (this.#reader?.desiredSize ?? hwm)
  }

  divert(sink: PipeSink | undefined): void {
    this.#divert = sink
    if (sink !== undefined) this.hold(false)
  }

  fedBy(pipe: PipeSink | undefined): void {
    this.#feeder = pipe
  }

  /** Pauses, or resumes unless mid-upgrade or done: the readable's pull uses it too. */
  hold(held: boolean): void {
    if (held) return this.#pause()
    if (!this.#paused || this.#upgrading || this.#readDone) return
    this.#paused = false
    this.#channel.resume()
  }

  writesMany(): boolean {
    return this.#channel.writev !== undefined
  }

  forward(chunks: Uint8Array[], from: PipeSink): boolean {
    // A writable that closed under the pipe: the pipe is shutting down too.
    if (this.#writeDone) return true
    const channel = this.#channel
    const count = () => {
      for (const chunk of chunks) this.#stats.bytesSent += chunk.byteLength
      this.#stats.packetsSent += chunks.length
    }
    const written = (error?: SocketError) => {
      if (error === undefined) count()
      from.released()
    }
    const released =
      chunks.length === 1
        ? channel.write(chunks[0] as Uint8Array, written)
        : channel.writev !== undefined
          ? channel.writev(chunks, written)
          : channel.write(joinBytes(chunks), written)
    if (released) count()
    return released
  }

  /**
   * Resolves when the channel no longer holds `bytes`; returns nothing when
   * that is already so, the common case, which then costs no promise.
   */
  #write(bytes: Uint8Array): Promise<void> | undefined {
    let settle: ((error?: SocketError) => void) | undefined
    const released = this.#channel.write(bytes, (error) => settle?.(error))
    if (released) {
      this.#stats.bytesSent += bytes.byteLength
      this.#stats.packetsSent++
      return undefined
    }
    // `done` never runs synchronously, so `settle` is set before it can.
    const written = new Promise<void>((resolve, reject) => {
      settle = (error) => {
        if (this.#inflight === written) this.#inflight = undefined
        if (error) return reject(error)
        this.#stats.bytesSent += bytes.byteLength
        this.#stats.packetsSent++
        resolve()
      }
    })
    this.#inflight = written
    return written
  }

  /** Waits until the writable has handed every queued chunk to the channel. */
  async #flushWrites(): Promise<void> {
    // Once the writable is closed, the stream has already delivered its queue.
    if (this.#writeDone && this.#inflight === undefined) return
    // A pipe's chunks are in no stream queue: they go out before the FIN.
    await this.#feeder?.idle()
    // The stream's queue is out of our reach (a caller may hold a writer),
    // but the stream feeds the sink its next chunk as soon as a write
    // settles (and its first a few microtasks after it is written), so the
    // queue is empty once a whole turn passes with no write in flight.
    for (;;) {
      await nextTurn()
      const inflight = this.#inflight
      if (inflight === undefined) return
      await inflight.catch(noop)
    }
  }

  #onData(chunk: Uint8Array): void {
    const reader = this.#reader
    if (reader === undefined || this.#readDone) return
    this.#stats.bytesReceived += chunk.byteLength
    this.#stats.packetsReceived++
    if (this.#divert !== undefined) return this.#divert.push(chunk)
    reader.enqueue(ownedBytes(chunk))
    if ((reader.desiredSize ?? 0) <= 0) this.#pause()
  }

  #onEnd(): void {
    this.#endReadable()
    // workerd: without allowHalfOpen, the end of input closes the writable.
    if (this.#options.allowHalfOpen) return
    void this.#endWritable('The peer ended the connection and allowHalfOpen is false')
  }

  /**
   * Sends FIN once every queued write is out. A writable nobody holds closes
   * cleanly; one behind a caller's writer is errored with `message`, since a
   * sink cannot close its own stream.
   */
  async #endWritable(message: string): Promise<void> {
    const writable = this.#writable
    if (writable !== undefined && !writable.locked && !this.#writeDone) {
      await writable.close().catch(noop)
    }
    await this.#flushWrites()
    if (this.#writeDone) return
    this.#writeDone = true
    await new Promise<void>((resolve) => this.#channel.end(() => resolve()))
    this.#writer?.error(closedError(message))
  }

  #pause(): void {
    this.#paused = true
    this.#channel.pause()
  }

  #endReadable(): void {
    if (this.#readDone) return
    this.#readDone = true
    const reader = this.#reader
    if (reader === undefined) return
    reader.close()
    reader.byobRequest?.respond(0)
  }

  /**
   * Errors whatever side is still open, with `reason`, or else a
   * `SocketError` made from `message`: made only if a side needs one, since
   * an error's stack trace costs more than the rest of a clean close.
   */
  #fail(reason: unknown, message = 'The socket is closed'): void {
    if (this.#readDone && this.#writeDone) return
    const failure = reason ?? closedError(message)
    if (!this.#readDone) {
      this.#readDone = true
      this.#readFailure = failure
      this.#reader?.error(failure)
    }
    if (!this.#writeDone) {
      this.#writeDone = true
      this.#writeFailure = failure
      this.#writer?.error(failure)
    }
  }

  #finish(error: unknown): void {
    if (this.#finished) return
    this.#finished = true
    this.#events.close(error)
  }
}

interface ByteSource {
  type: 'bytes'
  start(controller: ReadableByteStreamController): void
  pull(): void
  cancel(reason: unknown): void
}

/** `ReadableStream`'s byte-source constructor: its typings hide it behind the generic one. */
const ByteStream: new (
  source: ByteSource,
  strategy: { highWaterMark: number },
) => ReadableStream<Uint8Array> = ReadableStream

/** Our byte readable: `pipeTo()` a writable of another socket of ours (or the same) takes the fast path. */
class ByteReadable extends ByteStream {
  readonly #transport: StreamTransport

  constructor(transport: StreamTransport, source: ByteSource, strategy: { highWaterMark: number }) {
    super(source, strategy)
    this.#transport = transport
  }

  override pipeTo(
    destination: WritableStream<Uint8Array>,
    options: PipeOptions = {},
  ): Promise<void> {
    const target = pipeEnds.get(destination as WritableStream)
    const signal = (options as PipeOptions | null)?.signal
    const fast =
      target !== undefined &&
      !this.locked &&
      !destination.locked &&
      (signal === undefined || (signal instanceof AbortSignal && !signal.aborted))
    if (!fast) return super.pipeTo(destination, options)
    return fastPipe(this.#transport, this.getReader(), target, destination.getWriter(), options)
  }
}
