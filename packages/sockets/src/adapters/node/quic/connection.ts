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
import type { Connection } from './binding.ts'
import { transportError } from './errors.ts'
import { StreamChannel, type StreamHost } from './stream-channel.ts'
import { describeQuicTls } from './tls-info.ts'

export interface HostPort {
  host: string
  port: number
}

/** Where a connection's packets go, and what to do when it is gone. */
export interface PacketPath {
  send(packet: Uint8Array, port: number, host: string): void
  gone(connection: QuicheConnection): void
}

/**
 * Runs `fn` once the current job's promise chains have all settled: a
 * nextTick queued from a microtask runs only when the microtask queue is
 * empty.
 */
function afterJobs(fn: () => void): void {
  queueMicrotask(() => process.nextTick(fn))
}

const ignore: QuicConnectionHandler = { open() {}, stream() {}, datagram() {}, close() {} }
const slabSize = 256 * 1024
const maxPacket = 1500
const encoder = new TextEncoder()
/** How long a close waits for the peer to acknowledge our streams' last bytes. */
const closeGrace = 3000
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
  readonly #streams = new Map<number, StreamChannel>()
  readonly #waiting: StreamChannel[] = []
  readonly #toRead = new Set<StreamChannel>()
  /** Streams with bytes or an end that quiche had no room for. */
  readonly #blocked = new Set<StreamChannel>()
  /** Streams that ended cleanly and that quiche may still hold; see `#unacknowledged()`. */
  readonly #ended = new Set<number>()
  #pruneAt = 1024
  /** A close waiting for our streams' bytes to be acknowledged; see `close()`. */
  #closing: { info: QuicClose; timer: ReturnType<typeof setTimeout> } | undefined
  #nextId: [number, number]
  #opened = false
  #finished = false
  #stepQueued = false
  #flushTurn = 0
  #received = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #due = 0
  #keepAlive: ReturnType<typeof setInterval> | undefined
  #slab = Buffer.allocUnsafe(slabSize)
  #offset = 0
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
    // RFC 9000 §2.1: bit 0 is the initiator (1 = server), bit 1 the direction (1 = uni).
    this.#nextId = where.client ? [0, 2] : [1, 3]
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
    this.#waiting.push(stream)
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
   * for `closeGrace` at most. Streams still open are reset by the close.
   */
  close(info: QuicClose): void {
    if (this.#finished || this.#closing !== undefined) return
    this.#ourClose = info
    if (!this.#started) return this.#finish()
    if (this.#opened && this.#unacknowledged()) {
      this.#closing = { info, timer: setTimeout(() => this.#sendClose(info), closeGrace) }
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

  /**
   * Whether quiche may still hold bytes of ours: a stream waiting for room,
   * or one we ended that quiche has not let go of. quiche forgets a stream
   * once both sides are done and acknowledged; asking after a forgotten
   * one throws.
   */
  #unacknowledged(): boolean {
    for (const id of this.#ended) {
      try {
        this.conn.streamCapacity(id)
      } catch {
        this.#ended.delete(id)
      }
    }
    this.#pruneAt = Math.max(1024, this.#ended.size * 2)
    return this.#blocked.size > 0 || this.#ended.size > 0
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

  stats(): {
    bytesSent: number
    bytesReceived: number
    packetsSent: number
    packetsReceived: number
  } {
    if (!this.#started)
      return { bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0 }
    const stats = this.conn.stats()
    return {
      bytesSent: stats.sentBytes,
      bytesReceived: stats.recvBytes,
      packetsSent: stats.sent,
      packetsReceived: stats.recv,
    }
  }

  flushSoon(): void {
    this.#soon()
  }

  readSoon(stream: StreamChannel): void {
    this.#toRead.add(stream)
    this.#soon()
  }

  forget(stream: StreamChannel, clean: boolean): void {
    if (stream.id !== undefined) {
      this.#streams.delete(stream.id)
      if (clean) this.#ended.add(stream.id)
      if (this.#ended.size > this.#pruneAt && !this.#finished) this.#unacknowledged()
    }
    this.#toRead.delete(stream)
    this.#blocked.delete(stream)
  }

  blocked(stream: StreamChannel, waiting: boolean): void {
    if (waiting) this.#blocked.add(stream)
    else this.#blocked.delete(stream)
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
    // Taken out first: a read can resume a stream synchronously (a pending
    // read pulls again), and that stream must land in the next batch, not
    // be cleared from this one.
    const toRead = [...this.#toRead]
    this.#toRead.clear()
    for (const stream of toRead) stream.read()
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
      this.#startKeepAlive()
      this.handler.open()
    }
    if (this.#opened && !this.#finished) {
      if (fromPeer) for (const id of conn.readable()) this.#readable(id)
      if (this.#blocked.size > 0) {
        for (const id of conn.writable()) this.#streams.get(id)?.writable()
      }
      if (this.#waiting.length > 0) this.#assignIds()
      if (fromPeer) {
        for (let data = conn.dgramRecvVec(); data !== null; data = conn.dgramRecvVec()) {
          this.handler.datagram(data)
        }
      }
    }
    if (fromPeer && (conn.isClosed() || conn.isDraining())) this.#finish()
    else if (fromPeer && this.#closing !== undefined && !this.#unacknowledged()) {
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
      this.#streams.set(id, stream)
      this.handler.stream(stream, bidirectional)
    }
    if (!stream.paused) stream.read()
  }

  /** Gives waiting local streams their ids while the peer allows more streams. */
  #assignIds(): void {
    while (this.#waiting.length > 0) {
      const stream = this.#waiting[0]!
      const kind = stream.bidirectional ? 0 : 1
      const left = kind === 0 ? this.conn.peerStreamsLeftBidi() : this.conn.peerStreamsLeftUni()
      if (left === 0) return
      this.#waiting.shift()
      const id = this.#nextId[kind]!
      this.#nextId[kind] = id + 4
      // A zero-length send creates the stream in quiche, so that it counts against the limit.
      this.conn.streamSend(id, new Uint8Array(0), false)
      this.#streams.set(id, stream)
      stream.opened(id)
    }
  }

  /** Sends every packet quiche has ready, then re-arms its timer. */
  #flush(): void {
    const conn = this.conn
    for (;;) {
      if (this.#offset + maxPacket > slabSize) {
        // Sent packets keep their slice until the kernel has them: never reuse one.
        this.#slab = Buffer.allocUnsafe(slabSize)
        this.#offset = 0
      }
      const out = this.#slab.subarray(this.#offset, this.#offset + maxPacket)
      let result: ReturnType<Connection['send']>
      try {
        result = conn.send(out)
      } catch {
        break
      }
      if (result === null) break
      const [length, info] = result
      this.#offset += length
      this.#path.send(out.subarray(0, length), info.to.port, info.to.host)
    }
    this.#arm()
  }

  /**
   * Arms quiche's timer. It moves on almost every packet, and re-arming a
   * Node timer each time costs more than the rest of a small flush, so a
   * timer already due no later is kept: firing early is harmless, because
   * `onTimeout()` acts only on quiche's own deadlines, and we re-arm then.
   */
  #arm(): void {
    const ms = this.conn.timeout()
    if (ms === null || this.#finished) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      return
    }
    const due = performance.now() + ms
    if (this.#timer !== undefined && this.#due <= due) return
    clearTimeout(this.#timer)
    this.#due = due
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.conn.onTimeout()
      this.#step(true)
    }, ms)
  }

  #startKeepAlive(): void {
    const every = this.#params.keepAlive
    if (every === false) return
    this.#keepAlive = setInterval(() => {
      this.conn.sendAckEliciting()
      this.#flush()
    }, every)
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    clearTimeout(this.#timer)
    clearTimeout(this.#closing?.timer)
    clearInterval(this.#keepAlive)
    const { info, error } = this.#outcome()
    const streamError = (error ?? closedConnection()) as SocketError
    for (const stream of [...this.#streams.values(), ...this.#waiting]) stream.fail(streamError)
    this.#waiting.length = 0
    this.#path.gone(this)
    this.handler.close(info, error)
  }

  /** How the connection ended: a clean close with a code, or an error. */
  #outcome(): { info: QuicClose; error: unknown } {
    const conn = this.conn
    const clean = { closeCode: 0, reason: '' }
    if (this.#error !== undefined) return { info: clean, error: this.#error }
    if (this.#ourClose !== undefined && !this.#started)
      return { info: this.#ourClose, error: undefined }
    if (conn.isTimedOut()) {
      const message = this.#opened
        ? `The QUIC connection with ${this.#where} was idle for longer than idleTimeout (${this.#params.idleTimeout} ms)`
        : `Cannot connect to ${this.#where}: no answer within idleTimeout (${this.#params.idleTimeout} ms)`
      return { info: clean, error: new SocketError('ETIMEDOUT', message) }
    }
    const peer = conn.peerError()
    if (peer !== null) {
      if (peer.isApp || peer.errorCode === 0) {
        const reason = new TextDecoder().decode(peer.reason)
        return { info: { closeCode: peer.isApp ? peer.errorCode : 0, reason }, error: undefined }
      }
      return { info: clean, error: transportError(peer, 'the peer', this.#where) }
    }
    const local = conn.localError()
    if (this.#ourClose !== undefined) return { info: this.#ourClose, error: undefined }
    if (local !== null && !local.isApp && local.errorCode !== 0) {
      return { info: clean, error: transportError(local, 'we', this.#where) }
    }
    return { info: clean, error: undefined }
  }
}

function closedConnection(): SocketError {
  return new SocketError('ERR_SOCKET_CLOSED', 'The QUIC connection was closed')
}
