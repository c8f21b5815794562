/**
 * A `ByteChannel` over a WebSocket to `sockworker tunnel serve` (wire.ts
 * describes the protocol). Only the WebSocket API every runtime shares is
 * used, so this runs unchanged on Node, Deno and Bun.
 *
 * Backpressure:
 * - Sending: a WebSocket copies what `send()` gets and counts it in
 *   `bufferedAmount`. `write()` returns `false` above `highWater` and calls
 *   `done` once the count falls below `lowWater` (polled: the API has no
 *   drain event), so the writer waits and nothing grows without bound.
 * - Receiving: the API cannot stop reading. While paused, messages wait in
 *   `#inbox`; the daemon sends at most `tunnelWire.window` bytes beyond what
 *   this side has acknowledged, which bounds that queue, and it stops
 *   reading the target meanwhile, so TCP backpressure reaches the target.
 */
import { SocketError } from '../errors.ts'
import {
  type ByteChannel,
  type ByteChannelHandler,
  type ChannelInfo,
  type ChannelTuning,
  unattachedHandler,
} from '../platform.ts'
import { closeFailure, diagnoseRefusal, type TunnelRoute } from './failure.ts'
import { TunnelSendQueue } from './send-queue.ts'
import { closeReason, tunnelWire } from './wire.ts'

/** The part of the standard WebSocket the channel uses; tests pass a fake. */
export interface TunnelSocket {
  readonly readyState: number
  readonly bufferedAmount: number
  readonly protocol: string
  binaryType: string
  send(data: string | Uint8Array): void
  close(code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}

const OPEN = 1

const END = Symbol('end')

export class TunnelChannel implements ByteChannel {
  handler: ByteChannelHandler = unattachedHandler
  readonly #ws: TunnelSocket
  readonly #route: TunnelRoute
  readonly #info: ChannelInfo
  readonly #sender: TunnelSendQueue
  /** Received and not yet handed over: bytes, then perhaps the peer's end. */
  readonly #inbox: (Uint8Array | typeof END)[] = []
  #paused = true
  #flushing = false
  #unacked = 0
  #wsOpen = false
  #targetOpen = false
  #destroyed = false
  #wsClosed = false
  #error: SocketError | undefined
  /** The WebSocket closed cleanly, and the inbox still holds bytes to hand over. */
  #closedClean = false
  #finished = false
  #idleMs = 0
  #idleTimer: ReturnType<typeof setTimeout> | undefined
  #lastActivity = 0

  constructor(ws: TunnelSocket, route: TunnelRoute, target: { hostname: string; port: number }) {
    this.#ws = ws
    this.#route = route
    this.#sender = new TunnelSendQueue(ws, () => this.#sendFailure())
    this.#info = {
      remoteAddress: target.hostname,
      remotePort: target.port,
      localAddress: undefined,
      localPort: undefined,
      tls: undefined,
    }
    ws.binaryType = 'arraybuffer'
    ws.onopen = () => this.#onOpen()
    ws.onmessage = (event) => this.#onMessage(event.data)
    ws.onclose = (event) => this.#onClose(event.code, event.reason)
    // A close event always follows, and carries all there is to know.
    ws.onerror = () => {}
  }

  info(): ChannelInfo {
    return this.#info
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    this.#flush()
  }

  write(chunk: Uint8Array, done: (error?: SocketError) => void): boolean {
    this.#touch()
    return this.#sender.write(chunk, done)
  }

  end(done: (error?: SocketError) => void): void {
    this.#sender.end(done)
  }

  destroy(error?: SocketError): void {
    if (this.#finished) return
    if (error !== undefined) this.#error ??= error
    // Closed already, and waiting on a diagnosis or on a paused reader: stop now.
    if (this.#wsClosed) return this.#finish(this.#error)
    if (this.#destroyed) return
    this.#destroyed = true
    const ws = this.#ws
    if (ws.readyState <= OPEN) {
      if (error === undefined) ws.close(tunnelWire.closeNormal)
      else ws.close(tunnelWire.closeClientError, closeReason(error.code, error.message))
    }
  }

  tune(tuning: ChannelTuning): void {
    if (tuning.idleTimeout === undefined) return
    this.#idleMs = tuning.idleTimeout
    clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
    this.#touch()
  }

  startTls(): ByteChannel {
    throw new TypeError(
      'TLS through the tunnel is not supported yet: the tunnel itself uses wss://',
    )
  }

  #onOpen(): void {
    if (this.#ws.protocol !== tunnelWire.protocol) {
      const url = this.#route.via.url
      this.destroy(
        new SocketError(
          'ERR_SOCKET',
          `Cannot connect to ${this.#route.target}: ${url} did not accept the "${tunnelWire.protocol}" subprotocol; is it a "sockworker tunnel serve" address?`,
        ),
      )
      return
    }
    this.#wsOpen = true
    this.#sender.opened()
  }

  #onMessage(data: unknown): void {
    this.#touch()
    if (typeof data === 'string') return this.#onControl(data)
    if (data instanceof ArrayBuffer) this.#inbox.push(new Uint8Array(data))
    this.#flush()
  }

  #onControl(message: string): void {
    if (message === tunnelWire.open && !this.#targetOpen) {
      this.#targetOpen = true
      this.handler.open()
    } else if (message === tunnelWire.end) {
      this.#inbox.push(END)
      this.#flush()
    }
    // Anything else is from a newer daemon and can be ignored.
  }

  /** Hands over what the reader will take; the peer's end needs no room. */
  #flush(): void {
    if (this.#flushing || this.#finished) return
    this.#flushing = true
    try {
      const inbox = this.#inbox
      while (inbox.length > 0 && (!this.#paused || inbox[0] === END)) {
        const item = inbox.shift()
        if (item === END) this.handler.end()
        else if (item !== undefined) {
          this.handler.data(item)
          this.#acknowledge(item.byteLength)
        }
      }
    } finally {
      this.#flushing = false
    }
    if (this.#closedClean && this.#inbox.length === 0) this.#finish(undefined)
  }

  #acknowledge(bytes: number): void {
    this.#unacked += bytes
    if (this.#unacked < tunnelWire.ackEvery || this.#ws.readyState !== OPEN) return
    this.#ws.send(`${tunnelWire.ack}${this.#unacked}`)
    this.#unacked = 0
  }

  #onClose(code: number, reason: string): void {
    this.#wsClosed = true
    clearTimeout(this.#idleTimer)
    if (this.#destroyed || this.#error !== undefined) return this.#finish(this.#error)
    if (!this.#wsOpen) {
      // Refused or unreachable: the WebSocket API does not say which.
      void diagnoseRefusal(this.#route).then((error) => this.#finish(this.#error ?? error))
      return
    }
    const error = closeFailure(this.#route, code, reason, this.#targetOpen)
    if (error !== undefined) return this.#finish(error)
    // A clean close: the reader still gets what arrived before it.
    if (this.#inbox.at(-1) !== END) this.#inbox.push(END)
    this.#closedClean = true
    this.#flush()
  }

  #finish(error: SocketError | undefined): void {
    if (this.#finished) return
    this.#finished = true
    clearTimeout(this.#idleTimer)
    this.#inbox.length = 0
    this.#sender.closed(error)
    this.handler.close(error)
  }

  /** Why a send cannot happen now. */
  #sendFailure(): SocketError {
    return (
      this.#error ??
      new SocketError(
        'ERR_SOCKET_CLOSED',
        `Cannot write to ${this.#route.target}: the tunnel connection is closed`,
      )
    )
  }

  /** Notes traffic for the idle timeout, and arms its timer when needed. */
  #touch(): void {
    if (this.#idleMs === 0) return
    this.#lastActivity = performance.now()
    if (this.#idleTimer === undefined) this.#armIdle(this.#idleMs)
  }

  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(() => {
      if (this.#finished || this.#idleMs === 0) return
      const quiet = performance.now() - this.#lastActivity
      // Timers may fire a little early: within a millisecond counts.
      if (quiet + 1 < this.#idleMs) return this.#armIdle(this.#idleMs - quiet)
      this.#lastActivity = performance.now()
      this.#armIdle(this.#idleMs)
      this.handler.idle()
    }, ms)
  }
}
