/**
 * Web streams over UDP. Each chunk is one datagram, never split or merged.
 * UDP has no flow control to push back with, so when `readable` is full a
 * new datagram is dropped and counted, as the kernel would do.
 */
import { checkHostname, checkPort } from './address.ts'
import { toBytes } from './bytes.ts'
import { SocketError } from './errors.ts'
import type { ChannelInfo } from './platform.ts'
import type { TransportEvents } from './stream-transport.ts'
import type { Datagram, OutgoingDatagram, SocketStats } from './types.ts'

type Destination = { address: string; port: number }

/** Where a datagram transport sends: a bound UDP socket, or one flow of a listener. */
export interface DatagramPort {
  /** The peer plain bytes go to, if any. */
  readonly peer: Destination | undefined
  send(data: Uint8Array, to: Destination | undefined, done: (error?: SocketError) => void): void
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
  #inflight: Promise<void> | undefined
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
    while (this.#inflight !== undefined) {
      const inflight = this.#inflight
      await inflight.catch(() => {})
      if (this.#inflight === inflight) this.#inflight = undefined
    }
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

  #send(chunk: OutgoingDatagram | ArrayBufferView | ArrayBuffer): Promise<void> {
    const { data, to } = this.#outgoing(chunk)
    if (this.#done) {
      throw (
        this.#failure ?? new SocketError('ERR_SOCKET_CLOSED', 'Cannot send: the socket is closed')
      )
    }
    const sent = new Promise<void>((resolve, reject) => {
      this.#port.send(data, to, (error) => {
        if (error) return reject(error)
        this.#stats.packetsSent++
        this.#stats.bytesSent += data.byteLength
        resolve()
      })
    })
    this.#inflight = sent
    return sent
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
