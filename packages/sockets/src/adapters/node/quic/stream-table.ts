/**
 * A quiche connection's streams: those with ids, ours still waiting for the
 * peer's stream limit, those to read on the next step, those waiting for
 * room to write, and those we ended that quiche may still hold (which a
 * close waits for; see `QuicheConnection.close()`).
 */
import type { SocketError } from '../../../errors.ts'
import type { Connection } from './binding.ts'
import type { StreamChannel } from './stream-channel.ts'

export class StreamTable {
  readonly #streams = new Map<number, StreamChannel>()
  readonly #waiting: StreamChannel[] = []
  readonly #toRead = new Set<StreamChannel>()
  /** Streams with bytes or an end that quiche had no room for. */
  readonly #blocked = new Set<StreamChannel>()
  /** Streams that ended cleanly and that quiche may still hold; see `unacknowledged()`. */
  readonly #ended = new Set<number>()
  #pruneAt = 1024
  /** The next id of ours, bidirectional then unidirectional. */
  readonly #nextId: [number, number]

  constructor(client: boolean) {
    // RFC 9000 §2.1: bit 0 is the initiator (1 = server), bit 1 the direction (1 = uni).
    this.#nextId = client ? [0, 2] : [1, 3]
  }

  get(id: number): StreamChannel | undefined {
    return this.#streams.get(id)
  }

  /** A stream the peer opened. */
  add(id: number, stream: StreamChannel): void {
    this.#streams.set(id, stream)
  }

  /** A stream of ours, to get an id once the peer allows it (`assignIds()`). */
  queue(stream: StreamChannel): void {
    this.#waiting.push(stream)
  }

  get hasWaiting(): boolean {
    return this.#waiting.length > 0
  }

  get hasBlocked(): boolean {
    return this.#blocked.size > 0
  }

  readSoon(stream: StreamChannel): void {
    this.#toRead.add(stream)
  }

  /**
   * The streams to read, taken out first: a read can resume a stream
   * synchronously (a pending read pulls again), and that stream must land
   * in the next batch, not be cleared from this one.
   */
  takeToRead(): StreamChannel[] {
    const toRead = [...this.#toRead]
    this.#toRead.clear()
    return toRead
  }

  blocked(stream: StreamChannel, waiting: boolean): void {
    if (waiting) this.#blocked.add(stream)
    else this.#blocked.delete(stream)
  }

  /** The stream is done; `clean` when it ended without a reset, so quiche may still send its bytes. */
  forget(stream: StreamChannel, clean: boolean, conn: Connection | undefined): void {
    if (stream.id !== undefined) {
      this.#streams.delete(stream.id)
      if (clean) this.#ended.add(stream.id)
      if (this.#ended.size > this.#pruneAt && conn !== undefined) this.unacknowledged(conn)
    }
    this.#toRead.delete(stream)
    this.#blocked.delete(stream)
  }

  /**
   * Whether quiche may still hold bytes of ours: a stream waiting for room,
   * or one we ended that quiche has not let go of. quiche forgets a stream
   * once both sides are done and acknowledged; asking after a forgotten
   * one throws.
   */
  unacknowledged(conn: Connection): boolean {
    for (const id of this.#ended) {
      try {
        conn.streamCapacity(id)
      } catch {
        this.#ended.delete(id)
      }
    }
    this.#pruneAt = Math.max(1024, this.#ended.size * 2)
    return this.#blocked.size > 0 || this.#ended.size > 0
  }

  /** Gives waiting streams of ours their ids while the peer allows more streams. */
  assignIds(conn: Connection): void {
    while (this.#waiting.length > 0) {
      const stream = this.#waiting[0]!
      const kind = stream.bidirectional ? 0 : 1
      const left = kind === 0 ? conn.peerStreamsLeftBidi() : conn.peerStreamsLeftUni()
      if (left === 0) return
      this.#waiting.shift()
      const id = this.#nextId[kind]!
      this.#nextId[kind] = id + 4
      // A zero-length send creates the stream in quiche, so that it counts against the limit.
      conn.streamSend(id, new Uint8Array(0), false)
      this.#streams.set(id, stream)
      stream.opened(id)
    }
  }

  /** Called writable streams that waited for room. */
  writable(conn: Connection): void {
    for (const id of conn.writable()) this.#streams.get(id)?.writable()
  }

  /** Fails every stream, open or waiting, as the connection ends. */
  failAll(error: SocketError): void {
    for (const stream of [...this.#streams.values(), ...this.#waiting]) stream.fail(error)
    this.#waiting.length = 0
  }
}
