/**
 * The sending half of a tunnel channel: bytes and the end marker, in order,
 * held back until the WebSocket is open and released as its buffer drains.
 *
 * A WebSocket copies what `send()` gets into `bufferedAmount` and has no
 * drain event, so this sends a chunk only while the buffer is under
 * `highWater` (a large chunk goes out in slices) and polls the buffer until
 * it falls under `lowWater` before telling the writer its chunk is free.
 * What the process holds per connection is therefore about `highWater` plus
 * the one chunk the writer is waiting on.
 */
import type { SocketError } from '../errors.ts'
import { tunnelWire } from './wire.ts'

/** What the queue needs of a WebSocket. */
interface Sender {
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: string | Uint8Array): void
}

interface Item {
  /** Bytes to send, or `undefined` for the end marker. */
  chunk: Uint8Array | undefined
  /** How much of `chunk` is sent. */
  at: number
  done: (error?: SocketError) => void
}

const OPEN = 1
const highWater = tunnelWire.maxMessage
const lowWater = highWater / 4
/** How often a waiting writer looks at `bufferedAmount`. */
const pollMs = 1

export class TunnelSendQueue {
  readonly #ws: Sender
  readonly #failure: () => SocketError
  /** Not yet fully sent, in order; the head may be partly sent. */
  readonly #queue: Item[] = []
  /** Sent, waiting for the buffer to drain. */
  readonly #waiting: Item['done'][] = []
  #open = false
  #ended = false
  #closed = false
  #timer: ReturnType<typeof setTimeout> | undefined

  /** `failure`: the error for a send that can no longer happen. */
  constructor(ws: Sender, failure: () => SocketError) {
    this.#ws = ws
    this.#failure = failure
  }

  /** The `ByteChannel.write` contract: `true` means `chunk` is free now. */
  write(chunk: Uint8Array, done: (error?: SocketError) => void): boolean {
    if (this.#closed || this.#ended || this.#ws.readyState > OPEN) {
      queueMicrotask(() => done(this.#failure()))
      return false
    }
    const item: Item = { chunk, at: 0, done }
    if (!this.#open || this.#queue.length > 0) {
      this.#queue.push(item)
      return false
    }
    const sent = this.#sendFrom(item)
    if (sent && this.#ws.bufferedAmount <= highWater) return true
    if (sent) this.#waiting.push(done)
    else this.#queue.push(item)
    this.#schedule()
    return false
  }

  /** Queues the end marker after everything written so far. */
  end(done: (error?: SocketError) => void): void {
    if (this.#ended || this.#closed) {
      queueMicrotask(() => done())
      return
    }
    this.#ended = true
    this.#queue.push({ chunk: undefined, at: 0, done })
    this.#schedule()
  }

  /** The WebSocket is open: what was written meanwhile goes out now. */
  opened(): void {
    this.#open = true
    this.#poll()
  }

  /**
   * The WebSocket closed. Sent chunks succeed if it closed cleanly (`error`
   * undefined); anything never sent fails.
   */
  closed(error: SocketError | undefined): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    const unsent = this.#queue.splice(0)
    const sent = this.#waiting.splice(0)
    const failure = error ?? this.#failure()
    for (const item of unsent) item.done(item.chunk === undefined ? error : failure)
    for (const done of sent) done(error)
  }

  /** Sends what fits under `highWater`; true when all of `item` is sent. */
  #sendFrom(item: Item): boolean {
    const ws = this.#ws
    const chunk = item.chunk
    if (chunk === undefined) {
      ws.send(tunnelWire.end)
      return true
    }
    const size = chunk.byteLength
    if (item.at === 0 && size <= tunnelWire.maxMessage && ws.bufferedAmount < highWater) {
      if (size > 0) ws.send(chunk)
      item.at = size
      return true
    }
    while (item.at < size && ws.bufferedAmount < highWater) {
      const to = Math.min(item.at + tunnelWire.maxMessage, size)
      ws.send(chunk.subarray(item.at, to))
      item.at = to
    }
    return item.at === size
  }

  #schedule(): void {
    if (this.#timer !== undefined || !this.#open || this.#closed) return
    this.#timer = setTimeout(() => this.#poll(), pollMs)
  }

  #poll(): void {
    this.#timer = undefined
    if (this.#closed || this.#ws.readyState !== OPEN) return
    const queue = this.#queue
    while (queue.length > 0) {
      const head = queue[0] as Item
      if (!this.#sendFrom(head)) break
      queue.shift()
      this.#waiting.push(head.done)
    }
    if (queue.length === 0 && this.#ws.bufferedAmount <= lowWater) {
      for (const done of this.#waiting.splice(0)) done()
    }
    if (queue.length > 0 || this.#waiting.length > 0) this.#schedule()
  }
}
