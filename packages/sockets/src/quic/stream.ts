/**
 * A QUIC stream's web streams: the same `StreamTransport` as a TCP socket's,
 * over the stream's channel, with half-close always allowed (each direction
 * of a QUIC stream ends on its own).
 */
import type { ByteChannel } from '../platform.ts'
import { StreamTransport } from '../stream-transport.ts'
import type { QuicBidirectionalStream } from './types.ts'

/** One stream: `readable` and `writable` like a TCP `Socket`'s. */
export class QuicStream implements QuicBidirectionalStream {
  readonly #transport: StreamTransport
  /** Resolves once the stream exists (a stream of ours waits for the peer's stream limit). */
  readonly opened: Promise<void>

  constructor(channel: ByteChannel, local: boolean, highWaterMark: number) {
    const opened = Promise.withResolvers<void>()
    opened.promise.catch(() => {})
    if (!local) opened.resolve()
    this.opened = opened.promise
    this.#transport = new StreamTransport(
      channel,
      { allowHalfOpen: true, highWaterMark, connecting: local },
      { open: () => opened.resolve(), close: (error) => opened.reject(error) },
    )
  }

  get readable(): ReadableStream<Uint8Array> {
    return this.#transport.readable
  }

  get writable(): WritableStream<ArrayBufferView | ArrayBuffer> {
    return this.#transport.writable
  }
}
