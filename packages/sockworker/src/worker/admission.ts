/**
 * `max_connections` for one replica: every connection it holds counts, not
 * only those whose handler runs. A connection still reading its PROXY header
 * or doing its TLS handshake costs a file descriptor and buffers as surely as
 * a dispatched one, and it is exactly what a slowloris or a handshake flood
 * piles up; HTTP connections count too. The dispatcher counts the running
 * handlers (TCP, TLS, QUIC); this adds what it cannot see. UDP flows do not
 * count: `max_flows` caps them, and a flood of new UDP sources must not
 * take the places of TCP clients.
 */
import type { Logger } from '../observe/log.ts'
import type { WorkerMetrics } from '../observe/metrics.ts'

/**
 * A flood is refused thousands of times a second: one log line says so, then
 * one per interval with the count, rather than one line per connection.
 */
const REFUSAL_LOG_INTERVAL_MS = 10_000

/** Gives a held place back; calling it again does nothing. */
export type Release = () => void

export class Admission {
  readonly #max: number
  readonly #running: () => number
  readonly #metrics: WorkerMetrics
  readonly #log: Logger
  #pending = 0
  #held = 0
  #unlogged = 0
  #loggedAt = Number.NEGATIVE_INFINITY

  /**
   * @param max `limits.max_connections`.
   * @param running How many connection handlers run now (`dispatcher.connections`).
   * @example
   * const admission = new Admission(limits.maxConnections, () => dispatcher.connections, { metrics, log })
   */
  constructor(
    max: number,
    running: () => number,
    { metrics, log }: { metrics: WorkerMetrics; log: Logger },
  ) {
    this.#max = max
    this.#running = running
    this.#metrics = metrics
    this.#log = log
  }

  /** Connections that count against the limit now. */
  get count(): number {
    return this.#running() + this.#pending + this.#held
  }

  /**
   * Whether one more connection fits. When it does not, the refusal is
   * counted and the caller closes the connection.
   *
   * @example
   * if (!admission.admit()) return void connection.close()
   */
  admit(): boolean {
    if (this.count < this.#max) return true
    this.#metrics.refused()
    this.#unlogged++
    const now = performance.now()
    if (now - this.#loggedAt >= REFUSAL_LOG_INTERVAL_MS) {
      this.#log.warn('connection refused: max_connections reached', {
        max: this.#max,
        refused: this.#unlogged,
      })
      this.#loggedAt = now
      this.#unlogged = 0
    }
    return false
  }

  /**
   * Holds a place for a connection that no handler counts yet: `pending`
   * while it reads its PROXY header or handshakes (reported as
   * `handshakes_pending`), `held` for an HTTP connection's whole life.
   * Returns `undefined` (a counted refusal) when the replica is full.
   *
   * @example
   * const release = admission.hold('pending')
   * if (release === undefined) return raw.destroy()
   */
  hold(kind: 'pending' | 'held'): Release | undefined {
    if (!this.admit()) return undefined
    if (kind === 'pending') {
      this.#pending++
      this.#metrics.pending(1)
    } else this.#held++
    let released = false
    return () => {
      if (released) return
      released = true
      if (kind === 'pending') {
        this.#pending--
        this.#metrics.pending(-1)
      } else this.#held--
    }
  }
}
