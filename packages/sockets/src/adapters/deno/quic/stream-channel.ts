/**
 * One Deno QUIC stream as a `ByteChannel`. quinn holds the bytes: one read
 * is in flight only while the core wants data, so a paused stream runs the
 * peer into its flow-control window; a write is done once quinn has taken
 * the chunk into its send buffer, which is bounded by the peer's window.
 *
 * Deno 2.9 cannot reset a stream: its writable's `abort()` ends the stream
 * with FIN, as `close()` does. An abort that asks for a code therefore
 * fails with `ERR_UNSUPPORTED`, and the stream is left unfinished rather
 * than ended as if complete (see docs/runtimes.md).
 */
import { closedError, SocketError } from '../../../errors.ts'
import {
  type ByteChannel,
  type ByteChannelHandler,
  type ChannelInfo,
  unattachedHandler,
} from '../../../platform.ts'
import { noop } from '../../../promises.ts'
import { denoUnsupported } from '../errors.ts'
import { streamError } from './errors.ts'

/** A stream's two halves: a unidirectional one has only one. */
export interface StreamEnds {
  readable?: ReadableStream<Uint8Array> | undefined
  writable?: WritableStream<Uint8Array> | undefined
}

/** What a stream needs from its connection. */
export interface StreamHost {
  info(): ChannelInfo
  forget(stream: DenoQuicStream): void
  /** Payload bytes, for `stats`: Deno reports no packet counts. */
  count(sent: number, received: number): void
}

type Done = (error?: SocketError) => void

/** The code a caller's abort reason asks for (WebTransportError's shape), if any. */
function askedCode(reason: unknown): number | undefined {
  const code = (reason as { streamErrorCode?: unknown } | null)?.streamErrorCode
  return typeof code === 'number' ? code : undefined
}

export class DenoQuicStream implements ByteChannel {
  handler: ByteChannelHandler = unattachedHandler
  readonly #host: StreamHost
  /** Settles once the stream exists: at once for a peer's stream. */
  readonly #ready: Promise<StreamEnds>
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined
  #paused = true
  #reading = false
  #readDone = false
  #writeDone = false
  /** `end()` was called: FIN follows the pending writes. */
  #ending = false
  #closed = false
  /** Writes made before the stream existed, sent in order the moment it does. */
  #early: Array<{ chunk: Uint8Array; done: Done }> | undefined

  /** `opening` is a peer's stream, or a promise of ours once the peer's limit allows it. */
  constructor(host: StreamHost, opening: StreamEnds | Promise<StreamEnds>) {
    this.#host = host
    if (opening instanceof Promise) {
      this.#early = []
      this.#ready = opening.then((ends) => {
        this.#attach(ends)
        // Before `open`: a write made from the open handler must follow these.
        const early = this.#early ?? []
        this.#early = undefined
        for (const { chunk, done } of early) this.#send(chunk, done)
        if (!this.#closed) this.handler.open()
        return ends
      })
      this.#ready.catch((error: unknown) => this.fail(streamError(error, 'open a QUIC stream')))
    } else {
      this.#attach(opening)
      this.#ready = Promise.resolve(opening)
    }
  }

  info(): ChannelInfo {
    return this.#host.info()
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    void this.#pump()
  }

  write(chunk: Uint8Array, done: Done): boolean {
    if (this.#closed || this.#writeDone || this.#ending) {
      queueMicrotask(() => done(closedError('The QUIC stream is closed')))
      return false
    }
    if (this.#early !== undefined) this.#early.push({ chunk, done })
    else this.#send(chunk, done)
    return false
  }

  #send(chunk: Uint8Array, done: Done): void {
    const writer = this.#writer
    if (writer === undefined || this.#closed) {
      return queueMicrotask(() => done(closedError('The QUIC stream is closed')))
    }
    writer.write(chunk).then(
      () => {
        this.#host.count(chunk.byteLength, 0)
        done()
      },
      (error: unknown) => {
        const failure = this.#closed ? closedError('The QUIC stream is closed') : this.#fault(error)
        this.fail(failure)
        done(failure)
      },
    )
  }

  end(done: Done): void {
    if (this.#closed || this.#writeDone || this.#ending) return queueMicrotask(() => done())
    this.#ending = true
    this.#ready
      .then(() => this.#writer?.close())
      .then(
        () => {
          this.#writeDone = true
          done()
          this.#settle()
        },
        (error: unknown) => {
          const failure = this.#fault(error)
          this.fail(failure)
          done(failure)
        },
      )
  }

  destroy(error?: SocketError): void {
    if (this.#closed) return
    // Deno ends the writable with FIN either way; the readable's cancel sends STOP_SENDING (code 0).
    this.#writer?.abort(error).catch(noop)
    this.#reader?.cancel(error).catch(noop)
    this.fail(error)
  }

  /** The caller aborted: Deno cannot send RESET_STREAM, so a code it asks for is refused. */
  aborting(reason: unknown): void {
    const code = askedCode(reason)
    if (code === undefined) return
    // Neither FIN (the peer would take the stream as complete) nor a reset:
    // the send side stays open until the connection closes.
    this.#writer?.releaseLock()
    this.#writer = undefined
    this.#reader?.cancel(reason).catch(noop)
    // The abort's own reason stays reachable: a pipeTo whose source was reset forwards it here.
    const { message } = denoUnsupported(
      `resetting a QUIC stream with a code (abort({ streamErrorCode: ${code} })): Deno's QUIC streams end only with FIN`,
      'the stream was left unfinished; close the connection with a closeCode to tell the peer',
    )
    const refusal = new SocketError('ERR_UNSUPPORTED', message, { cause: reason })
    this.fail(refusal)
    throw refusal
  }

  /** The caller cancelled the readable: Deno sends STOP_SENDING with code 0. */
  cancelRead(reason: unknown): void {
    if (this.#readDone) return
    this.#readDone = true
    this.#reader?.cancel(reason).catch(noop)
    this.#settle()
  }

  tune(): void {}

  startTls(): ByteChannel {
    throw new TypeError('Cannot start TLS on a QUIC stream: QUIC is always encrypted')
  }

  /** Ends the stream with `error`, or cleanly. Reported once. */
  fail(error: SocketError | undefined): void {
    if (this.#closed) return
    this.#closed = true
    this.#readDone = this.#writeDone = true
    const early = this.#early ?? []
    this.#early = undefined
    for (const { done } of early) done(error ?? closedError('The QUIC stream is closed'))
    this.#host.forget(this)
    this.handler.close(error)
  }

  #attach(ends: StreamEnds): void {
    if (ends.readable === undefined) this.#readDone = true
    else this.#reader = ends.readable.getReader()
    if (ends.writable === undefined) this.#writeDone = true
    else this.#writer = ends.writable.getWriter()
    if (this.#closed) {
      this.#writer?.abort().catch(noop)
      this.#reader?.cancel().catch(noop)
    } else if (!this.#paused) void this.#pump()
  }

  async #pump(): Promise<void> {
    const reader = this.#reader
    if (reader === undefined || this.#reading || this.#readDone) return
    this.#reading = true
    try {
      while (!this.#paused && !this.#readDone && !this.#closed) {
        const { done, value } = await reader.read()
        if (this.#closed || this.#readDone) return
        if (done) {
          this.#readDone = true
          this.handler.end()
          this.#settle()
          return
        }
        this.#host.count(0, value.byteLength)
        this.handler.data(value)
      }
    } catch (error) {
      if (!this.#closed && !this.#readDone) this.fail(this.#fault(error))
    } finally {
      this.#reading = false
    }
  }

  #fault(error: unknown): SocketError {
    return streamError(error, 'use the QUIC stream')
  }

  /** Both sides are done: the stream closes cleanly. */
  #settle(): void {
    if (this.#readDone && this.#writeDone) this.fail(undefined)
  }
}
