/**
 * One quiche connection driven by our own loop: packets in (`receive`),
 * stream and datagram events out to the core, packets out (`flush`) and
 * quiche's timer. Everything runs on the event loop thread, and packets
 * leave once the current job's promise chains have all settled, so that
 * many writes, and a write and the end that follows it, leave together.
 */
import { SocketError } from '../../../errors.ts'
import type { ChannelInfo } from '../../../platform.ts'
import type {
  QuicClose,
  QuicConnectionChannel,
  QuicConnectionHandler,
  QuicParams,
} from '../../../quic/platform.ts'
import { type Connection, type ConnectionStats, connectionStats } from './binding.ts'
import { closeGrace } from './close-grace.ts'
import { closedConnection, closeOutcome } from './outcome.ts'
import { afterJobs, type PacketOut, PacketSender } from './packet-sender.ts'
import { StreamChannel, type StreamHost } from './stream-channel.ts'
import { StreamTable } from './stream-table.ts'
import { describeQuicTls } from './tls-info.ts'

export interface HostPort {
  host: string
  port: number
}

/** Where a connection's packets go, and what to do when it is gone. */
export interface PacketPath extends PacketOut {
  gone(connection: QuicheConnection): void
}

const ignore: QuicConnectionHandler = { open() {}, stream() {}, datagram() {}, close() {} }
const encoder = new TextEncoder()
const badCertificate = 0x100 + 42

export class QuicheConnection implements QuicConnectionChannel, StreamHost {
  handler: QuicConnectionHandler = ignore
  /** Set by `start()`: a client resolves its peer's address first. */
  conn!: Connection
  readonly #path: PacketPath
  readonly #local: HostPort
  readonly #remote: HostPort
  readonly #client: boolean
  readonly #verified: boolean
  readonly #params: QuicParams
  readonly #checkPeer: ((conn: Connection) => boolean) | undefined
  readonly #streams: StreamTable
  readonly #sender: PacketSender
  /** A close waiting for our streams' bytes to be acknowledged; see `close()`. */
  #closing: { info: QuicClose; timer: ReturnType<typeof setTimeout> } | undefined
  #opened = false
  #finished = false
  #stepQueued = false
  #flushTurn = 0
  #received = false
  #error: unknown
  #ourClose: QuicClose | undefined

  constructor(
    path: PacketPath,
    where: {
      local: HostPort
      remote: HostPort
      client: boolean
      verified: boolean
      params: QuicParams
      /** A check of the peer's certificate that quiche cannot make; false fails the handshake. */
      checkPeer?: ((conn: Connection) => boolean) | undefined
    },
  ) {
    this.#path = path
    this.#local = where.local
    this.#remote = where.remote
    this.#client = where.client
    this.#verified = where.verified
    this.#params = where.params
    this.#checkPeer = where.checkPeer
    this.#streams = new StreamTable(where.client)
    this.#sender = new PacketSender(path, () => this.#step(true))
  }

  get #where(): string {
    return `${this.#remote.host}:${this.#remote.port}`
  }

  info(): ChannelInfo {
    return {
      remoteAddress: this.#remote.host,
      remotePort: this.#remote.port,
      localAddress: this.#local.host,
      localPort: this.#local.port,
      tls: this.#opened ? describeQuicTls(this.conn, this.#verified) : undefined,
    }
  }

  /** Begins with quiche's connection: sends the client's first flight. */
  start(conn: Connection): void {
    this.conn = conn
    if (this.#error !== undefined) return
    this.#flush()
  }

  get #started(): boolean {
    return this.conn !== undefined
  }

  /** A packet from the network. */
  receive(packet: Uint8Array, from: HostPort): void {
    if (this.#finished) return
    try {
      this.conn.recv(packet, { from, to: this.#local })
    } catch {
      // quiche records why (a TLS alert, a protocol error) as its local error.
    }
    // Node delivers each datagram in its own callback; processing once all
    // of this poll's datagrams are in acknowledges and reads in batches.
    if (this.#received) return
    this.#received = true
    setImmediate(() => {
      this.#received = false
      this.#step(true)
    })
  }

  openStream(bidirectional: boolean): StreamChannel {
    const stream = new StreamChannel(this, undefined, bidirectional, true)
    if (this.#finished) {
      queueMicrotask(() => stream.fail((this.#error ?? closedConnection()) as SocketError))
      return stream
    }
    this.#streams.queue(stream)
    if (this.#opened) this.#soon()
    return stream
  }

  sendDatagram(data: Uint8Array): boolean {
    if (!this.#opened || this.#finished) return false
    if (data.byteLength > this.maxDatagramSize() || this.conn.isDgramSendQueueFull()) return false
    try {
      this.conn.dgramSend(data)
    } catch {
      return false
    }
    this.#soon()
    return true
  }

  maxDatagramSize(): number {
    if (!this.#opened || this.#finished) return 0
    return this.conn.dgramMaxWritableLen() ?? 0
  }

  /**
   * Closes with an application code, once what our streams already handed
   * over has been acknowledged: CONNECTION_CLOSE would discard it, and a
   * caller that wrote a reply, ended its stream and closed (the runtime
   * closes a connection when its handler returns) expects it delivered, as
   * a TCP close flushes. A peer that stops acknowledging holds the close up
   * for `closeGrace()` at most. Streams still open are reset by the close.
   */
  close(info: QuicClose): void {
    if (this.#finished || this.#closing !== undefined) return
    this.#ourClose = info
    if (!this.#started) return this.#finish()
    if (this.#opened && this.#streams.unacknowledged(this.conn)) {
      const grace = closeGrace(this.#params)
      this.#closing = { info, timer: setTimeout(() => this.#sendClose(info), grace) }
      this.#soon()
      return
    }
    this.#sendClose(info)
  }

  #sendClose(info: QuicClose): void {
    clearTimeout(this.#closing?.timer)
    if (this.#finished) return
    try {
      this.conn.close(true, info.closeCode, encoder.encode(info.reason))
    } catch {}
    this.#flush()
    this.#finish()
  }

  destroy(reason: unknown): void {
    if (this.#finished) return
    this.#error = reason ?? new SocketError('ERR_SOCKET_CLOSED', 'The QUIC connection was aborted')
    if (!this.#started) return this.#finish()
    try {
      this.conn.close(true, 0, encoder.encode('aborted'))
    } catch {}
    this.#flush()
    this.#finish()
  }

  stats(): ConnectionStats {
    return connectionStats(this.#started ? this.conn : undefined)
  }

  flushSoon(): void {
    this.#soon()
  }

  readSoon(stream: StreamChannel): void {
    this.#streams.readSoon(stream)
    this.#soon()
  }

  forget(stream: StreamChannel, clean: boolean): void {
    this.#streams.forget(stream, clean, this.#finished ? undefined : this.conn)
  }

  blocked(stream: StreamChannel, waiting: boolean): void {
    this.#streams.blocked(stream, waiting)
  }

  /** Asks for a `#step()` once the current job is done. */
  #soon(): void {
    if (this.#stepQueued || this.#finished || !this.#started) return
    this.#stepQueued = true
    afterJobs(this.#queuedStep)
  }

  readonly #queuedStep = () => {
    this.#stepQueued = false
    this.#step(false)
  }

  /**
   * Reads what was asked for and processes quiche's events, then flushes
   * once the promise chains that set off have settled: what the core does
   * with a delivered chunk or a released write (an echo's write, the end
   * that follows it) is still to come, and must leave in the same packets.
   *
   * That is more than batching. quiche 0.18 sends an end that comes after
   * the last bytes have left as a frame of its own, and counts the stream's
   * send side complete once those bytes are acknowledged, without waiting
   * for that frame: if that frame is lost and the stream has finished
   * reading, quiche forgets the stream and never sends the end again, and
   * the peer waits for it forever (test/conformance/quic-load.test.ts
   * stalled so under load; docs/decisions.md, "A QUIC stream's lost end").
   * An end written in the same job as the last bytes leaves with them.
   */
  #step(fromPeer: boolean): void {
    if (this.#finished) return
    for (const stream of this.#streams.takeToRead()) stream.read()
    this.#process(fromPeer)
    // A flush queued by an earlier step may run before this step's promise
    // chains (queued nextTicks run before microtasks): only the latest runs.
    const turn = ++this.#flushTurn
    afterJobs(() => {
      if (turn === this.#flushTurn && !this.#finished) this.#flush()
    })
  }

  /**
   * Acts on what quiche has for us. Each call into quiche crosses N-API,
   * and these calls were most of a small round trip's time (docs/
   * benchmarks.md), so a step only asks what can have changed: streams to
   * read, datagrams, the handshake and the end come only with packets (or
   * quiche's timer), and room to write matters only to a stream that waits.
   */
  #process(fromPeer: boolean): void {
    const conn = this.conn
    if (fromPeer && !this.#opened && conn.isEstablished() && !this.#finished) {
      if (this.#checkPeer !== undefined && !this.#checkPeer(conn)) {
        // As BoringSSL would have: a bad_certificate alert (RFC 9001 §4.8).
        conn.close(false, badCertificate, encoder.encode('certificate does not match the address'))
        this.#flush()
        return this.#finish()
      }
      this.#opened = true
      if (this.#params.keepAlive !== false) this.#sender.keepAlive(conn, this.#params.keepAlive)
      this.handler.open()
    }
    if (this.#opened && !this.#finished) {
      if (fromPeer) for (const id of conn.readable()) this.#readable(id)
      if (this.#streams.hasBlocked) this.#streams.writable(conn)
      if (this.#streams.hasWaiting) this.#streams.assignIds(conn)
      if (fromPeer) {
        for (let data = conn.dgramRecvVec(); data !== null; data = conn.dgramRecvVec()) {
          this.handler.datagram(data)
        }
      }
    }
    if (fromPeer && (conn.isClosed() || conn.isDraining())) this.#finish()
    else if (fromPeer && this.#closing !== undefined && !this.#streams.unacknowledged(conn)) {
      this.#sendClose(this.#closing.info)
    }
  }

  #readable(id: number): void {
    let stream = this.#streams.get(id)
    if (stream === undefined) {
      // A stream we opened and already finished with: nothing to deliver.
      if ((id & 1) === (this.#client ? 0 : 1)) return
      const bidirectional = (id & 2) === 0
      stream = new StreamChannel(this, id, bidirectional, false)
      this.#streams.add(id, stream)
      this.handler.stream(stream, bidirectional)
    }
    if (!stream.paused) stream.read()
  }

  #flush(): void {
    this.#sender.flush(this.conn, this.#finished)
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.#sender.stop()
    clearTimeout(this.#closing?.timer)
    const { info, error } = closeOutcome(this.conn, {
      error: this.#error,
      ourClose: this.#ourClose,
      started: this.#started,
      opened: this.#opened,
      idleTimeout: this.#params.idleTimeout,
      where: this.#where,
    })
    this.#streams.failAll((error ?? closedConnection()) as SocketError)
    this.#path.gone(this)
    this.handler.close(info, error)
  }
}
