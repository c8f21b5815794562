/**
 * A connection's datagrams (RFC 9221) in the WebTransport shape. Like UDP,
 * datagrams have no flow control: when `readable` is full a new one is
 * dropped, and a datagram too large for a packet is dropped on send, as the
 * WebTransport draft says.
 */
import { toBytes } from '../bytes.ts'
import type { QuicConnectionChannel } from './platform.ts'
import type { QuicDatagrams } from './types.ts'

export class QuicDatagramQueue implements QuicDatagrams {
  readonly #channel: QuicConnectionChannel
  readonly readable: ReadableStream<Uint8Array>
  #reader: ReadableStreamDefaultController<Uint8Array> | undefined
  #done = false
  /** Received datagrams dropped because nobody read them. */
  dropped = 0
  /** Datagrams that arrived, dropped ones included. */
  received = 0
  /** Datagrams the engine accepted to send. */
  sent = 0

  constructor(channel: QuicConnectionChannel, queue: number) {
    this.#channel = channel
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#reader = controller
        },
        cancel: () => {
          this.#done = true
        },
      },
      { highWaterMark: queue },
    )
  }

  get maxDatagramSize(): number {
    return this.#channel.maxDatagramSize()
  }

  /**
   * @example
   * const writer = connection.datagrams.createWritable().getWriter()
   * await writer.write(new Uint8Array([1, 2, 3]))
   */
  createWritable(): WritableStream<ArrayBufferView | ArrayBuffer> {
    return new WritableStream({
      write: (chunk) => {
        if (this.#done) throw new TypeError('Cannot send a datagram: the connection is closed')
        if (this.#channel.sendDatagram(toBytes(chunk))) this.sent++
      },
    })
  }

  receive(data: Uint8Array): void {
    const reader = this.#reader
    if (reader === undefined || this.#done) return
    this.received++
    if ((reader.desiredSize ?? 0) <= 0) {
      this.dropped++
      return
    }
    reader.enqueue(data)
  }

  end(error: unknown): void {
    if (this.#done) return
    this.#done = true
    if (error === undefined) this.#reader?.close()
    else this.#reader?.error(error)
  }
}
