/**
 * The transport behind a QUIC `Socket`: the connection's streams, datagrams
 * and close, in the WebTransport shape. The socket's own `readable` and
 * `writable` are its first bidirectional stream: on a client, the one it
 * opens on their first use; on an accepted connection, the first one the
 * peer opens, which `incomingBidirectionalStreams` yields as well.
 */
import { SocketError } from '../errors.ts'
import type { ByteChannel, ChannelInfo } from '../platform.ts'
import type { TransportEvents } from '../stream-transport.ts'
import { QuicDatagramQueue } from './datagrams.ts'
import { DeferredChannel } from './deferred-channel.ts'
import type { QuicClose, QuicConnectionChannel } from './platform.ts'
import { QuicStream } from './stream.ts'
import type { QuicBidirectionalStream, QuicStats } from './types.ts'

export interface QuicTransportOptions {
  highWaterMark: number
  datagramQueue: number
  client: boolean
  /** Fail with ETIMEDOUT if the handshake takes longer; 0 never. */
  connectTimeout: number
  where: string
}

/**
 * Streams the peer opens, as a readable of streams. A caller may cancel it
 * (leaving a `for await` loop early does), after which new streams are
 * refused with STOP_SENDING/RESET_STREAM rather than queued.
 */
class Incoming<T> {
  readonly stream: ReadableStream<T>
  #controller!: ReadableStreamDefaultController<T>
  #done = false

  constructor() {
    this.stream = new ReadableStream<T>(
      {
        start: (controller) => void (this.#controller = controller),
        cancel: () => void (this.#done = true),
      },
      { highWaterMark: 0 },
    )
  }

  /** Returns false when nobody will take `item`. */
  push(item: T): boolean {
    if (this.#done) return false
    this.#controller.enqueue(item)
    return true
  }

  end(error: unknown): void {
    if (this.#done) return
    this.#done = true
    if (error === undefined) this.#controller.close()
    else this.#controller.error(error)
  }
}

export class QuicTransport {
  readonly #channel: QuicConnectionChannel
  readonly #options: QuicTransportOptions
  readonly #events: TransportEvents
  readonly #bidi = new Incoming<QuicBidirectionalStream>()
  readonly #uni = new Incoming<ReadableStream<Uint8Array>>()
  readonly datagrams: QuicDatagramQueue
  readonly #closed = Promise.withResolvers<QuicClose>()
  #first: QuicStream | undefined
  /** An accepted connection's own stream, used before the peer's first stream arrived. */
  #claim: DeferredChannel | undefined
  #sawBidirectional = false
  #closeWith: QuicClose = { closeCode: 0, reason: '' }
  #timer: ReturnType<typeof setTimeout> | undefined
  #done = false
  // Counted here, where every stream and datagram already passes, so that
  // metrics cost an increment and no extra stream layer on the data path.
  readonly #streams = { inBidi: 0, inUni: 0, outBidi: 0, outUni: 0 }

  constructor(
    channel: QuicConnectionChannel,
    options: QuicTransportOptions,
    events: TransportEvents,
  ) {
    this.#channel = channel
    this.#options = options
    this.#events = events
    this.#closed.promise.catch(() => {})
    this.datagrams = new QuicDatagramQueue(channel, options.datagramQueue)
    channel.handler = {
      open: () => {
        clearTimeout(this.#timer)
        events.open()
      },
      stream: (stream, bidirectional) => {
        if (bidirectional) this.#streams.inBidi++
        else this.#streams.inUni++
        if (bidirectional && !options.client && !this.#sawBidirectional) {
          return this.#firstIncoming(stream)
        }
        const quicStream = new QuicStream(stream, false, options.highWaterMark)
        const taken = bidirectional
          ? this.#bidi.push(quicStream)
          : this.#uni.push(quicStream.readable)
        if (!taken) stream.destroy()
      },
      datagram: (data) => this.datagrams.receive(data),
      close: (info, error) => this.#finish(info, error),
    }
    if (options.connectTimeout > 0) {
      this.#timer = setTimeout(() => {
        const message = `Cannot connect to ${options.where}: no QUIC handshake within ${options.connectTimeout} ms (connectTimeout)`
        channel.destroy(new SocketError('ETIMEDOUT', message))
      }, options.connectTimeout)
    }
  }

  get readable(): ReadableStream<Uint8Array> {
    return this.#firstStream().readable
  }

  get writable(): WritableStream<ArrayBufferView | ArrayBuffer> {
    return this.#firstStream().writable
  }

  get incomingBidirectionalStreams(): ReadableStream<QuicBidirectionalStream> {
    return this.#bidi.stream
  }

  get incomingUnidirectionalStreams(): ReadableStream<ReadableStream<Uint8Array>> {
    return this.#uni.stream
  }

  /** Resolves with the close code and reason; rejects when the connection failed. */
  get closed(): Promise<QuicClose> {
    return this.#closed.promise
  }

  get stats(): QuicStats {
    const streams = this.#streams
    const datagrams = this.datagrams
    return {
      ...this.#channel.stats(),
      packetsDropped: datagrams.dropped,
      incomingBidirectionalStreams: streams.inBidi,
      incomingUnidirectionalStreams: streams.inUni,
      outgoingBidirectionalStreams: streams.outBidi,
      outgoingUnidirectionalStreams: streams.outUni,
      datagramsReceived: datagrams.received,
      datagramsSent: datagrams.sent,
    }
  }

  info(): ChannelInfo {
    return this.#channel.info()
  }

  async createBidirectionalStream(): Promise<QuicBidirectionalStream> {
    const stream = this.#open(true)
    await stream.opened
    return stream
  }

  async createUnidirectionalStream(): Promise<WritableStream<ArrayBufferView | ArrayBuffer>> {
    const stream = this.#open(false)
    await stream.opened
    return stream.writable
  }

  /** What `close()` will send. */
  closeWith(info: QuicClose): void {
    this.#closeWith = info
  }

  async close(): Promise<void> {
    if (!this.#done) this.#channel.close(this.#closeWith)
    await this.#closed.promise.catch(() => {})
  }

  abort(reason: unknown): void {
    this.#channel.destroy(reason)
  }

  #open(bidirectional: boolean): QuicStream {
    if (this.#done) throw new TypeError('Cannot open a stream: the QUIC connection is closed')
    if (bidirectional) this.#streams.outBidi++
    else this.#streams.outUni++
    return new QuicStream(
      this.#channel.openStream(bidirectional),
      true,
      this.#options.highWaterMark,
    )
  }

  #firstStream(): QuicStream {
    if (this.#first !== undefined) return this.#first
    if (this.#options.client) {
      this.#first = this.#open(true)
      return this.#first
    }
    // Before the peer's first stream: a stream that waits for it.
    const claim = new DeferredChannel(() => this.#channel.info())
    this.#claim = claim
    this.#first = new QuicStream(claim, true, this.#options.highWaterMark)
    if (this.#done) claim.fail(undefined)
    return this.#first
  }

  /** The peer's first bidirectional stream: the connection's own, and one of the incoming. */
  #firstIncoming(channel: ByteChannel): void {
    this.#sawBidirectional = true
    const claim = this.#claim
    if (claim !== undefined) claim.bind(channel)
    else this.#first = new QuicStream(channel, false, this.#options.highWaterMark)
    // A caller that uses `readable` and `writable` keeps the stream even if
    // it does not take the incoming ones.
    if (!this.#bidi.push(this.#first!) && claim === undefined) channel.destroy()
  }

  #finish(info: QuicClose, error: unknown): void {
    if (this.#done) return
    this.#done = true
    clearTimeout(this.#timer)
    const end = error ?? new SocketError('ERR_SOCKET_CLOSED', 'The QUIC connection was closed')
    this.#bidi.end(error === undefined ? undefined : end)
    this.#uni.end(error === undefined ? undefined : end)
    this.datagrams.end(error)
    this.#claim?.fail(error === undefined ? undefined : (end as SocketError))
    if (error === undefined) this.#closed.resolve(info)
    else this.#closed.reject(error)
    this.#events.close(error)
  }
}
