/**
 * One Deno `QuicConn` as the core's `QuicConnectionChannel`. quinn runs the
 * connection in Rust; this forwards its streams, datagrams and close to the
 * core, and maps quinn's errors to ours.
 */
import { SocketError } from '../../../errors.ts'
import type { ChannelInfo } from '../../../platform.ts'
import { noop } from '../../../promises.ts'
import type {
  QuicClose,
  QuicConnectionChannel,
  QuicConnectionHandler,
  QuicParams,
} from '../../../quic/platform.ts'
import type { TlsInfo } from '../../../types.ts'
import type { QuicConn } from './api.ts'
import { quicError } from './errors.ts'
import { DenoQuicStream, type StreamEnds } from './stream-channel.ts'

type QuicStats = ReturnType<QuicConnectionChannel['stats']>

const ignore: QuicConnectionHandler = { open() {}, stream() {}, datagram() {}, close() {} }
/** Datagrams handed to Deno and not yet sent; more are dropped, as a full queue drops them. */
const maxDatagramsInFlight = 256

export interface DenoQuicConnectionOptions {
  client: boolean
  /** The peer, for messages, as "127.0.0.1:4433". */
  where: string
  remote: { address: string; port: number }
  local: () => { address: string; port: number } | undefined
  servername: string | undefined
  params: QuicParams
  /** Runs once the connection is done: the owner closes its endpoint. */
  gone: () => void
}

function closedConnection(): SocketError {
  return new SocketError('ERR_SOCKET_CLOSED', 'The QUIC connection was closed')
}

export class DenoQuicConnection implements QuicConnectionChannel {
  handler: QuicConnectionHandler = ignore
  readonly #options: DenoQuicConnectionOptions
  readonly #streams = new Set<DenoQuicStream>()
  readonly #ready: Promise<QuicConn>
  #conn: QuicConn | undefined
  #finished = false
  #ourClose: QuicClose | undefined
  #datagramsInFlight = 0
  #stats: QuicStats = { bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0 }

  /** `opening` settles with the connection once its handshake is done. */
  constructor(opening: Promise<QuicConn>, options: DenoQuicConnectionOptions) {
    this.#options = options
    this.#ready = opening
    opening.then(
      (conn) => this.#opened(conn),
      (error: unknown) => this.#finish(undefined, this.#fault(error, 'connect to')),
    )
  }

  info(): ChannelInfo {
    const conn = this.#conn
    const local = this.#options.local()
    return {
      remoteAddress: conn?.remoteAddr.hostname ?? this.#options.remote.address,
      remotePort: conn?.remoteAddr.port ?? this.#options.remote.port,
      localAddress: local?.address,
      localPort: local?.port,
      tls: conn === undefined ? undefined : this.#tls(conn),
    }
  }

  openStream(bidirectional: boolean): DenoQuicStream {
    const opening: Promise<StreamEnds> = this.#ready.then(async (conn) => {
      if (this.#finished) throw closedConnection()
      // Waits for the peer's stream limit, as the core expects, rather than failing at it.
      if (bidirectional) return conn.createBidirectionalStream({ waitUntilAvailable: true })
      return { writable: await conn.createUnidirectionalStream({ waitUntilAvailable: true }) }
    })
    const stream = new DenoQuicStream(this, opening)
    this.#streams.add(stream)
    return stream
  }

  sendDatagram(data: Uint8Array): boolean {
    const conn = this.#conn
    if (conn === undefined || this.#finished) return false
    if (data.byteLength > conn.maxDatagramSize) return false
    if (this.#datagramsInFlight >= maxDatagramsInFlight) return false
    this.#datagramsInFlight++
    // A copy: the caller may reuse its buffer once this returns.
    conn.sendDatagram(data.slice()).then(
      () => {
        this.#datagramsInFlight--
        this.#stats.bytesSent += data.byteLength
      },
      () => this.#datagramsInFlight--,
    )
    return true
  }

  maxDatagramSize(): number {
    if (this.#conn === undefined || this.#finished) return 0
    return this.#conn.maxDatagramSize
  }

  close(info: QuicClose): void {
    if (this.#finished) return
    this.#ourClose = info
    if (this.#conn === undefined) {
      // Closed before the handshake finished: close it when it does.
      this.#ready.then((conn) => conn.close(info), noop)
      return this.#finish(info, undefined)
    }
    this.#conn.close(info)
  }

  destroy(reason: unknown): void {
    if (this.#finished) return
    const aborted = { closeCode: 0, reason: 'aborted' }
    if (this.#conn === undefined) this.#ready.then((conn) => conn.close(aborted), noop)
    else this.#conn.close(aborted)
    this.#finish(
      undefined,
      reason ?? new SocketError('ERR_SOCKET_CLOSED', 'The QUIC connection was aborted'),
    )
  }

  stats(): QuicStats {
    return { ...this.#stats }
  }

  forget(stream: DenoQuicStream): void {
    this.#streams.delete(stream)
  }

  count(sent: number, received: number): void {
    this.#stats.bytesSent += sent
    this.#stats.bytesReceived += received
  }

  #opened(conn: QuicConn): void {
    if (this.#finished) return
    this.#conn = conn
    conn.closed.then(
      // A plain object: Deno's has a null prototype.
      ({ closeCode, reason }) => this.#finish(this.#ourClose ?? { closeCode, reason }, undefined),
      (error: unknown) => this.#finish(undefined, this.#fault(error, 'talk to')),
    )
    void this.#accept(conn.incomingBidirectionalStreams, (stream) => stream)
    void this.#accept(conn.incomingUnidirectionalStreams, (readable) => ({ readable }))
    void this.#readDatagrams(conn)
    this.handler.open()
  }

  async #accept<T>(incoming: ReadableStream<T>, ends: (item: T) => StreamEnds): Promise<void> {
    try {
      for await (const item of incoming) {
        if (this.#finished) return
        const value = ends(item)
        const stream = new DenoQuicStream(this, value)
        this.#streams.add(stream)
        this.handler.stream(stream, value.readable !== undefined && value.writable !== undefined)
      }
    } catch {
      // The connection ended; `closed` says how.
    }
  }

  async #readDatagrams(conn: QuicConn): Promise<void> {
    try {
      while (!this.#finished) {
        const data = await conn.readDatagram()
        if (this.#finished) return
        this.#stats.bytesReceived += data.byteLength
        this.handler.datagram(data)
      }
    } catch {
      // The connection ended; `closed` says how.
    }
  }

  #tls(conn: QuicConn): TlsInfo {
    const client = this.#options.client
    return {
      // QUIC always runs TLS 1.3 (RFC 9001 §4.2); Deno reports no cipher or certificate.
      protocol: 'TLSv1.3',
      cipher: 'unknown',
      alpn: conn.protocol,
      // A Deno client never completes a handshake it could not verify.
      authorized: client,
      servername: client ? this.#options.servername : (conn.serverName ?? undefined),
      peerCertificate: undefined,
    }
  }

  #fault(error: unknown, verb: string): SocketError {
    return quicError(error, `${verb} ${this.#options.where}`, this.#options.params.idleTimeout)
  }

  #finish(info: QuicClose | undefined, error: unknown): void {
    if (this.#finished) return
    this.#finished = true
    const streamError = (error ?? closedConnection()) as SocketError
    for (const stream of [...this.#streams]) stream.fail(streamError)
    this.#streams.clear()
    this.#options.gone()
    this.handler.close(info ?? { closeCode: 0, reason: '' }, error)
  }
}
