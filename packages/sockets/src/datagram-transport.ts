/**
 * Web streams over UDP. Each chunk is one datagram, never split or merged.
 * UDP has no flow control to push back with, so when `readable` is full a
 * new datagram is dropped and counted, as the kernel would do.
 *
 * A write that the port hands to the kernel at once resolves at once, with
 * no promise of its own; one shared callback counts the sends still out, so
 * `close()` waits for them, and a send that fails later errors the writable
 * (as a rejected write would have). Only a datagram that must wait (before
 * the socket is bound, while a host name resolves, behind a full send
 * queue) makes its write wait, for every send out to finish.
 */
import { checkHostname, checkPort } from './address.ts'
import { toBytes } from './bytes.ts'
import { SocketError } from './errors.ts'
import type { ChannelInfo } from './platform.ts'
import type { TransportEvents } from './stream-transport.ts'
import type { Datagram, OutgoingDatagram, SocketStats } from './types.ts'

type Destination = { address: string; port: number }

/**
 * Sends whose `done` has not come yet, beyond which a write waits for them
 * all: node:dgram reports even a synchronous send on the next tick, so a
 * writer looping on resolved writes would otherwise queue without bound.
 */
const MAX_SENDS_OUT = 256

/** Where a datagram transport sends: a bound UDP socket, or one flow of a listener. */
export interface DatagramPort {
  /** The peer plain bytes go to, if any. */
  readonly peer: Destination | undefined
  /**
   * Sends one datagram; `true` if it went to the kernel at once. `done` is
   * called once it is sent or has failed, either way.
   */
  send(data: Uint8Array, to: Destination | undefined, done: (error?: SocketError) => void): boolean
  info(): ChannelInfo
  close(): void
}

export class DatagramTransport {
  #port: DatagramPort
  #events: TransportEvents
  #highWaterMark: number
  #readable: ReadableStream<Datagram>
  #reader: ReadableStreamDefaultController<Datagram> | undefined
  #writable: WritableStream<OutgoingDatagram | ArrayBufferView | ArrayBuffer> | undefined
  #writer: WritableStreamDefaultController | undefined
  /** Sends handed to the port whose `done` has not come yet. */
  #sending = 0
  /** The first send that failed; the writable is errored with it. */
  #sendError: SocketError | undefined
  /** Writes and `close()` waiting for every send out to finish. */
  #drained: PromiseWithResolvers<void> | undefined
  /** One callback for every send, so a datagram costs no closure. */
  readonly #sent = (error?: SocketError): void => this.#onSent(error)
  #done = false
  #failure: unknown
  #stats: SocketStats = {
    bytesSent: 0,
    bytesReceived: 0,
    packetsSent: 0,
    packetsReceived: 0,
    packetsDropped: 0,
  }

  constructor(port: DatagramPort, highWaterMark: number, events: TransportEvents) {
    this.#port = port
    this.#highWaterMark = highWaterMark
    this.#events = events
    // Built at once so that datagrams arriving before the first read queue up.
    this.#readable = this.#createReadable()
  }

  get readable(): ReadableStream<Datagram> {
    return this.#readable
  }

  #createReadable(): ReadableStream<Datagram> {
    return new ReadableStream<Datagram>(
      {
        start: (controller) => {
          this.#reader = controller
        },
      },
      { highWaterMark: this.#highWaterMark, size: (message) => message.data.byteLength },
    )
  }

  get writable(): WritableStream<OutgoingDatagram | ArrayBufferView | ArrayBuffer> {
    this.#writable ??= new WritableStream(
      {
        start: (controller) => {
          this.#writer = controller
          if (this.#failure !== undefined) controller.error(this.#failure)
        },
        write: (chunk) => this.#send(chunk),
        close: () => (this.#done ? undefined : this.close()),
        abort: (reason) => this.abort(reason),
      },
      { highWaterMark: 1 },
    )
    return this.#writable
  }

  get stats(): SocketStats {
    return { ...this.#stats }
  }

  info(): ChannelInfo {
    return this.#port.info()
  }

  /** The port reports one received datagram. */
  deliver(data: Uint8Array, remoteAddress: string, remotePort: number): void {
    const reader = this.#reader
    if (this.#done) return
    this.#stats.packetsReceived++
    this.#stats.bytesReceived += data.byteLength
    if (reader === undefined || (reader.desiredSize ?? 0) <= 0) {
      this.#stats.packetsDropped++
      return
    }
    reader.enqueue({ data, remoteAddress, remotePort })
  }

  async close(): Promise<void> {
    if (this.#sending > 0) await this.#drain().catch(() => {})
    this.#port.close()
  }

  abort(reason: unknown): void {
    this.ended(reason)
    this.#port.close()
  }

  /**
   * The port is closed. The readable ends (or errors with `error`). The
   * writable errors only on failure: after a clean end, such as an idle
   * flow's, a pending `pipeTo()` should finish without an error, and a late
   * write still fails on its own.
   */
  ended(error: unknown): void {
    if (this.#done) return
    this.#done = true
    this.#failure = error
    if (error === undefined) this.#reader?.close()
    else {
      this.#reader?.error(error)
      this.#writer?.error(error)
    }
    this.#events.close(error)
  }

  #send(chunk: OutgoingDatagram | ArrayBufferView | ArrayBuffer): Promise<void> | undefined {
    const { data, to } = this.#outgoing(chunk)
    if (this.#done) {
      throw (
        this.#failure ?? new SocketError('ERR_SOCKET_CLOSED', 'Cannot send: the socket is closed')
      )
    }
    this.#sending++
    this.#stats.packetsSent++
    this.#stats.bytesSent += data.byteLength
    const now = this.#port.send(data, to, this.#sent)
    if (now && this.#sending <= MAX_SENDS_OUT && this.#sendError === undefined) return undefined
    return this.#drain()
  }

  /** Settles once no send is out; rejects once a send has failed. */
  #drain(): Promise<void> {
    if (this.#sendError !== undefined) return Promise.reject(this.#sendError)
    if (this.#sending === 0) return Promise.resolve()
    this.#drained ??= Promise.withResolvers<void>()
    return this.#drained.promise
  }

  #onSent(error: SocketError | undefined): void {
    this.#sending--
    if (error !== undefined) {
      this.#sendError ??= error
      // The write that made this send may have resolved already: erroring
      // the writable fails the next write and close(), as a rejected write does.
      this.#writer?.error(error)
      const drained = this.#drained
      this.#drained = undefined
      drained?.reject(error)
      return
    }
    if (this.#sending === 0) {
      const drained = this.#drained
      this.#drained = undefined
      drained?.resolve()
    }
  }

  #outgoing(chunk: OutgoingDatagram | ArrayBufferView | ArrayBuffer): {
    data: Uint8Array
    to: Destination | undefined
  } {
    if (ArrayBuffer.isView(chunk) || chunk instanceof ArrayBuffer) {
      if (this.#port.peer === undefined) {
        throw new TypeError(
          'Cannot send bare bytes on an unconnected UDP socket: write { data, remoteAddress, remotePort }',
        )
      }
      return { data: toBytes(chunk), to: undefined }
    }
    if (typeof chunk !== 'object' || chunk === null || !('data' in chunk)) {
      throw new TypeError(
        'Cannot send datagram: write bytes, or { data, remoteAddress, remotePort }',
      )
    }
    const data = toBytes(chunk.data)
    if (chunk.remoteAddress === undefined && chunk.remotePort === undefined) {
      if (this.#port.peer === undefined) {
        throw new TypeError('Cannot send datagram: remoteAddress and remotePort are required')
      }
      return { data, to: undefined }
    }
    return {
      data,
      to: {
        address: checkHostname(chunk.remoteAddress, 'remoteAddress'),
        port: checkPort(chunk.remotePort, 'remotePort'),
      },
    }
  }
}
