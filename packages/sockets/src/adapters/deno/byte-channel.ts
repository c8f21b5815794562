/**
 * A `ByteChannel` over a Deno `TcpConn` or `TlsConn`. It starts paused and
 * reads only while the core's readable wants bytes: one `conn.read()` at a
 * time, into a reused buffer.
 */
import { closedError, type SocketError } from '../../errors.ts'
import {
  type ByteChannel,
  type ByteChannelHandler,
  type ChannelInfo,
  type ChannelTuning,
  type TlsParams,
  unattachedHandler,
} from '../../platform.ts'
import { noop } from '../../promises.ts'
import type { Conn } from './deno-api.ts'
import { denoUnsupported, toSocketError } from './errors.ts'
import { IdleTimer } from './idle-timer.ts'
import { type OpenConn, upgradeToTls } from './tls-connect.ts'

/** Deno reads at most this much per `read()`; a full buffer is handed over whole, not copied. */
const READ_SIZE = 64 * 1024

export interface DenoChannelOptions {
  /** The peer, for error messages, as "db:5432". */
  peer: string
  /** Aborting it gives up a connect in progress. */
  abort?: AbortController
}

const noAddresses = {
  remoteAddress: undefined,
  remotePort: undefined,
  localAddress: undefined,
  localPort: undefined,
}

export class DenoByteChannel implements ByteChannel {
  handler: ByteChannelHandler = unattachedHandler
  readonly #peer: string
  readonly #abort: AbortController | undefined
  #open: OpenConn | undefined
  #addresses: Omit<ChannelInfo, 'tls'> = noAddresses
  /** Settles once the connection is open; writes made earlier wait on it. */
  readonly #opening: Promise<OpenConn>
  #paused = true
  #reading = false
  #scratch: Uint8Array | undefined
  #readEnded = false
  #writeEnded = false
  #ending: Promise<void> | undefined
  /** The tail of the write queue: each write starts when the one before it is done. */
  #writes: Promise<void>
  /** No write is queued or in flight. */
  #queueEmpty = false
  #closed = false
  #detached = false
  #error: SocketError | undefined
  #tuning: ChannelTuning = {}
  readonly #idleTimer = new IdleTimer(() => this.handler.idle())

  /** `opening` is an open connection (accepted) or a promise of one (connecting). */
  constructor(opening: OpenConn | Promise<OpenConn>, options: DenoChannelOptions) {
    this.#peer = options.peer
    this.#abort = options.abort
    if (opening instanceof Promise) {
      this.#opening = opening.then(
        (open) => this.#onOpen(open, true),
        (error) => {
          this.destroy(this.#fault(error))
          throw error
        },
      )
    } else {
      this.#opening = Promise.resolve(this.#onOpen(opening, false))
    }
    this.#opening.catch(() => {})
    this.#writes = this.#opening.then(() => {
      if (this.#writes === opened) this.#queueEmpty = true
    }, noop)
    const opened = this.#writes
  }

  info(): ChannelInfo {
    return { ...this.#addresses, tls: this.#open?.tls }
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    void this.#pump()
  }

  write(chunk: Uint8Array, done: (error?: SocketError) => void): boolean {
    if (this.#closed || this.#ending !== undefined) {
      const error = closedError(`Cannot talk to ${this.#peer}: the socket is closed`)
      queueMicrotask(() => done(error))
      return false
    }
    // With nothing queued on an open connection, write at once: one hop less per write.
    const written =
      this.#queueEmpty && this.#open !== undefined
        ? this.#writeAll(chunk)
        : this.#writes.then(() => this.#writeAll(chunk))
    this.#queueEmpty = false
    const tail = written.then(() => {
      if (this.#writes === tail) this.#queueEmpty = true
    }, noop)
    this.#writes = tail
    written.then(
      () => done(),
      (error) => {
        const fault = this.#fault(error)
        this.destroy(fault)
        done(fault)
      },
    )
    return false
  }

  end(done: (error?: SocketError) => void): void {
    if (this.#closed) return done()
    this.#ending ??= this.#writes.then(async () => {
      const conn = this.#open?.conn
      if (conn === undefined || this.#closed) return
      await conn.closeWrite()
      this.#writeEnded = true
      this.#finishIfDone()
    })
    this.#ending.then(
      () => done(),
      (error) => done(this.#fault(error)),
    )
  }

  destroy(error?: SocketError): void {
    if (this.#closed) return
    if (error !== undefined) this.#error ??= error
    this.#closed = true
    this.#idleTimer.stop()
    this.#abort?.abort()
    if (!this.#detached) closeQuietly(this.#open?.conn)
    const closing = this.#error
    queueMicrotask(() => this.handler.close(closing))
  }

  tune(tuning: ChannelTuning): void {
    if (typeof tuning.keepAlive === 'number' && tuning.keepAlive > 0) {
      throw denoUnsupported(
        'a keep-alive delay (keepAlive: number): Deno can only turn keep-alive on or off',
        'pass keepAlive: true',
      )
    }
    this.#tuning = { ...this.#tuning, ...tuning }
    if (this.#open !== undefined) this.#applyTuning(tuning)
  }

  startTls(params: TlsParams): ByteChannel {
    const tcp = this.#open?.tcp
    const reading = this.#reading
    this.#detach()
    const host = this.#addresses.remoteAddress ?? this.#peer
    const opening = this.#writes.then(() => {
      if (params.role === 'server') {
        throw denoUnsupported(
          'StartTLS on the server side of a connection (Deno.startTls is client-only)',
          'listen with type: "tls" instead',
        )
      }
      if (reading) {
        throw denoUnsupported(
          'StartTLS while a read is in flight (Deno.startTls needs the TCP connection idle)',
          'create the socket with highWaterMark: 0, so that it reads only what the application asks for',
        )
      }
      if (tcp === undefined) throw denoUnsupported('StartTLS on a connection that is already TLS')
      return upgradeToTls(tcp, params, host)
    })
    opening.catch(() => closeQuietly(tcp))
    const channel = new DenoByteChannel(opening, { peer: this.#peer })
    channel.tune({ idleTimeout: this.#tuning.idleTimeout ?? 0 })
    return channel
  }

  /** Hands the connection over: this channel reports nothing more. */
  #detach(): void {
    this.#detached = true
    this.#paused = true
    this.#idleTimer.stop()
  }

  #onOpen(open: OpenConn, report: boolean): OpenConn {
    if (this.#closed) {
      closeQuietly(open.conn)
      return open
    }
    this.#open = open
    const { localAddr, remoteAddr } = open.conn
    this.#addresses = {
      remoteAddress: remoteAddr.hostname,
      remotePort: remoteAddr.port,
      localAddress: localAddr.hostname,
      localPort: localAddr.port,
    }
    this.#applyTuning(this.#tuning)
    if (report) this.handler.open()
    void this.#pump()
    return open
  }

  #applyTuning(tuning: ChannelTuning): void {
    const tcp = this.#open?.tcp
    if (tcp !== undefined) {
      if (tuning.noDelay !== undefined) tcp.setNoDelay(tuning.noDelay)
      if (tuning.keepAlive !== undefined) tcp.setKeepAlive(tuning.keepAlive !== false)
    }
    if (tuning.idleTimeout !== undefined && !this.#closed && !this.#detached) {
      this.#idleTimer.set(tuning.idleTimeout)
    }
  }

  async #pump(): Promise<void> {
    const conn = this.#open?.conn
    if (conn === undefined || this.#reading || this.#readEnded) return
    this.#reading = true
    try {
      while (!this.#paused && !this.#closed && !this.#detached) {
        const buffer = (this.#scratch ??= new Uint8Array(READ_SIZE))
        const n = await conn.read(buffer)
        if (this.#closed || this.#detached) return
        if (n === null) {
          this.#readEnded = true
          this.handler.end()
          this.#finishIfDone()
          return
        }
        this.#idleTimer.touch()
        let chunk: Uint8Array
        if (n === READ_SIZE) {
          chunk = buffer
          this.#scratch = undefined
        } else {
          chunk = buffer.slice(0, n)
        }
        this.handler.data(chunk)
      }
    } catch (error) {
      if (!this.#closed && !this.#detached) this.destroy(this.#fault(error))
    } finally {
      this.#reading = false
    }
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    const conn = this.#open?.conn
    if (conn === undefined || this.#closed) {
      throw closedError(`Cannot talk to ${this.#peer}: the socket is closed`)
    }
    this.#idleTimer.touch()
    let offset = await conn.write(chunk)
    while (offset < chunk.byteLength) offset += await conn.write(chunk.subarray(offset))
  }

  /** Both directions ended: the connection is done, as Node's 'close' after 'end' and 'finish'. */
  #finishIfDone(): void {
    if (this.#readEnded && this.#writeEnded) this.destroy()
  }

  #fault(error: unknown): SocketError {
    const action = this.#open ? `talk to ${this.#peer}` : `connect to ${this.#peer}`
    return toSocketError(error, action)
  }
}

function closeQuietly(conn: Conn | undefined): void {
  try {
    conn?.close()
  } catch {
    // Already closed, or consumed by Deno.startTls.
  }
}
