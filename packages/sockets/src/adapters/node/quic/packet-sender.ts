/**
 * The outgoing half of a quiche connection: sends every packet quiche has
 * ready, out of a slab of reusable memory, and keeps quiche's timer armed.
 */
import type { Connection } from './binding.ts'

/** Where a connection's packets go. */
export interface PacketOut {
  send(packet: Uint8Array, port: number, host: string): void
}

const slabSize = 256 * 1024
const maxPacket = 1500

/**
 * Runs `fn` once the current job's promise chains have all settled: a
 * nextTick queued from a microtask runs only when the microtask queue is
 * empty.
 */
export function afterJobs(fn: () => void): void {
  queueMicrotask(() => process.nextTick(fn))
}

export class PacketSender {
  readonly #out: PacketOut
  /** quiche's timer fired: acts on it. */
  readonly #onTimeout: () => void
  #slab = Buffer.allocUnsafe(slabSize)
  #offset = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #due = 0
  #keepAlive: ReturnType<typeof setInterval> | undefined

  constructor(out: PacketOut, onTimeout: () => void) {
    this.#out = out
    this.#onTimeout = onTimeout
  }

  /** Sends every packet quiche has ready, then re-arms its timer (unless `finished`). */
  flush(conn: Connection, finished: boolean): void {
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
      this.#out.send(out.subarray(0, length), info.to.port, info.to.host)
    }
    this.#arm(conn, finished)
  }

  /**
   * Arms quiche's timer. It moves on almost every packet, and re-arming a
   * Node timer each time costs more than the rest of a small flush, so a
   * timer already due no later is kept: firing early is harmless, because
   * `onTimeout()` acts only on quiche's own deadlines, and we re-arm then.
   */
  #arm(conn: Connection, finished: boolean): void {
    const ms = conn.timeout()
    if (ms === null || finished) {
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
      conn.onTimeout()
      this.#onTimeout()
    }, ms)
  }

  /** Sends a PING every `ms`, so that neither side's idle timeout fires. */
  keepAlive(conn: Connection, ms: number): void {
    this.#keepAlive = setInterval(() => {
      conn.sendAckEliciting()
      this.flush(conn, false)
    }, ms)
  }

  /** Disarms quiche's timer and the keep-alive: the connection is finished. */
  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    clearInterval(this.#keepAlive)
  }
}
