/**
 * One QUIC stream as a `ByteChannel`. quiche holds the bytes: reads stop
 * while the channel is paused, so the peer runs into its flow-control
 * window; writes hand quiche what it has room for and keep the rest until
 * the stream is writable again.
 */
import { SocketError } from '../../../errors.ts'
import {
  type ByteChannel,
  type ByteChannelHandler,
  type ChannelInfo,
  unattachedHandler,
} from '../../../platform.ts'
import { type Connection, shutdownRead, shutdownWrite, streamErrorCode } from './binding.ts'

/** What a stream needs from its connection. */
export interface StreamHost {
  readonly conn: Connection
  info(): ChannelInfo
  /** Sends what quiche has queued, soon. */
  flushSoon(): void
  /** Reads this stream's pending bytes, soon (after a resume). */
  readSoon(stream: StreamChannel): void
  /** The stream is done; `clean` when it ended without a reset. */
  forget(stream: StreamChannel, clean: boolean): void
  /** Whether the stream waits for quiche to have room (then `writable()` is called when it does). */
  blocked(stream: StreamChannel, waiting: boolean): void
}

type Done = (error?: SocketError) => void

/** Receives stream data; reused, since each chunk handed on is a copy. */
const scratch = new Uint8Array(65536)

/** The `streamErrorCode` a caller's abort reason carries (WebTransportError's shape), else 0. */
export function errorCodeOf(reason: unknown): number {
  const code = (reason as { streamErrorCode?: unknown } | null)?.streamErrorCode
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 ? code : 0
}

function resetError(what: string, code: number): SocketError {
  const error = new SocketError('ECONNRESET', `The peer ${what} the QUIC stream with code ${code}`)
  return Object.assign(error, { streamErrorCode: code })
}

export class StreamChannel implements ByteChannel {
  handler: ByteChannelHandler = unattachedHandler
  /** Assigned once the stream may exist: at once for a peer's stream. */
  id: number | undefined
  readonly bidirectional: boolean
  readonly #host: StreamHost
  #paused = true
  #readDone: boolean
  #writeDone: boolean
  /**
   * Writes quiche has not taken yet, in order. More than one waits when a
   * caller writes before the last `done` (the `pipeTo` fast path does).
   */
  #pending: Array<{ chunk: Uint8Array; done: Done }> = []
  #endDone: Done | undefined
  #closed = false

  constructor(host: StreamHost, id: number | undefined, bidirectional: boolean, local: boolean) {
    this.#host = host
    this.id = id
    this.bidirectional = bidirectional
    this.#readDone = local && !bidirectional
    this.#writeDone = !local && !bidirectional
  }

  get paused(): boolean {
    return this.#paused
  }

  info(): ChannelInfo {
    return this.#host.info()
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    if (this.id !== undefined) this.#host.readSoon(this)
  }

  /** Gives the core what quiche holds for us, until paused or drained. */
  read(): void {
    const id = this.id
    if (id === undefined || this.#closed) return
    const conn = this.#host.conn
    while (!this.#paused && !this.#readDone) {
      let result: [number, boolean] | null
      try {
        result = conn.streamRecv(id, scratch)
      } catch (error) {
        const code = streamErrorCode(error, 'StreamReset')
        if (code === undefined) {
          // Reset it too, so that the peer is not left waiting for the rest.
          this.#shutdown(0)
          return this.fail(
            new SocketError('ERR_SOCKET', 'Cannot read the QUIC stream', { cause: error }),
          )
        }
        return this.fail(resetError('reset', code))
      }
      if (result === null) break
      const [length, fin] = result
      // A copy that owns its buffer: the core transfers it, and scratch stays ours.
      if (length > 0) this.handler.data(scratch.slice(0, length))
      if (fin) {
        this.#readDone = true
        this.handler.end()
        this.#settle()
      }
    }
    this.#host.flushSoon()
  }

  /** Called when quiche has room: moves on the write that was waiting. */
  writable(): void {
    while (this.#pending.length > 0) {
      const first = this.#pending[0]!
      const rest = this.#send(first.chunk)
      if (rest === undefined) return
      if (rest.byteLength > 0) {
        first.chunk = rest
        return
      }
      this.#pending.shift()
      first.done()
    }
    this.#host.blocked(this, false)
    if (this.#endDone !== undefined) this.#sendFin()
  }

  /** The stream got its id: it may carry data now. */
  opened(id: number): void {
    this.id = id
    this.handler.open()
    this.writable()
    if (!this.#paused) this.#host.readSoon(this)
  }

  write(chunk: Uint8Array, done: Done): boolean {
    if (this.#closed || this.#writeDone) {
      queueMicrotask(() => done(new SocketError('ERR_SOCKET_CLOSED', 'The QUIC stream is closed')))
      return false
    }
    if (this.id === undefined || this.#pending.length > 0) {
      this.#queue(chunk, done)
      return false
    }
    const rest = this.#send(chunk)
    if (rest === undefined) {
      queueMicrotask(() => done(new SocketError('ERR_SOCKET_CLOSED', 'The QUIC stream is closed')))
      return false
    }
    this.#host.flushSoon()
    if (rest.byteLength === 0) return true
    // quiche copied the start; the caller may not reuse `chunk` until the rest is in.
    this.#queue(rest, done)
    return false
  }

  end(done: Done): void {
    if (this.#writeDone || this.#closed) return queueMicrotask(() => done())
    this.#endDone = done
    if (this.id !== undefined && this.#pending.length === 0) this.#sendFin()
  }

  destroy(error?: SocketError): void {
    if (this.#closed) return
    this.#shutdown(errorCodeOf(error))
    this.fail(error)
  }

  /** The caller aborted: its reason may carry the reset code. */
  aborting(reason: unknown): void {
    this.#shutdown(errorCodeOf(reason))
  }

  /** The caller cancelled the readable: ask the peer to stop sending. */
  cancelRead(reason: unknown): void {
    if (this.#readDone || this.id === undefined) return
    this.#readDone = true
    try {
      this.#host.conn.streamShutdown(this.id, shutdownRead, errorCodeOf(reason))
    } catch {}
    this.#host.flushSoon()
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
    this.#readDone = true
    this.#writeDone = true
    const pending = this.#pending
    const endDone = this.#endDone
    this.#pending = []
    this.#endDone = undefined
    const failure = error ?? new SocketError('ERR_SOCKET_CLOSED', 'The QUIC stream is closed')
    for (const { done } of pending) done(failure)
    endDone?.(failure)
    this.#host.forget(this, error === undefined)
    this.handler.close(error)
  }

  #queue(chunk: Uint8Array, done: Done): void {
    this.#pending.push({ chunk, done })
    if (this.#pending.length === 1) this.#host.blocked(this, true)
  }

  /** Returns what quiche did not take, or undefined when the stream is gone. */
  #send(chunk: Uint8Array): Uint8Array | undefined {
    try {
      const sent = this.#host.conn.streamSend(this.id!, chunk, false) ?? 0
      return chunk.subarray(sent)
    } catch (error) {
      const code = streamErrorCode(error, 'StreamStopped')
      if (code === undefined) this.#shutdown(0)
      this.fail(
        code === undefined
          ? new SocketError('ERR_SOCKET', 'Cannot write to the QUIC stream', { cause: error })
          : resetError('stopped', code),
      )
      return undefined
    }
  }

  #sendFin(): void {
    const done = this.#endDone
    try {
      this.#host.conn.streamSend(this.id!, new Uint8Array(0), true)
    } catch (error) {
      const code = streamErrorCode(error, 'StreamStopped')
      return this.fail(
        code === undefined
          ? new SocketError('ERR_SOCKET', 'Cannot end the QUIC stream', { cause: error })
          : resetError('stopped', code),
      )
    }
    this.#endDone = undefined
    this.#writeDone = true
    this.#host.flushSoon()
    done?.()
    this.#settle()
  }

  /** Resets whichever side is still open, with `code`. */
  #shutdown(code: number): void {
    const id = this.id
    if (id === undefined) return
    const conn = this.#host.conn
    try {
      if (!this.#writeDone) conn.streamShutdown(id, shutdownWrite, code)
    } catch {}
    try {
      if (!this.#readDone) conn.streamShutdown(id, shutdownRead, code)
    } catch {}
    this.#readDone = this.#writeDone = true
    this.#host.flushSoon()
  }

  /** Both sides are done: the stream closes cleanly. */
  #settle(): void {
    if (this.#readDone && this.#writeDone) this.fail(undefined)
  }
}
