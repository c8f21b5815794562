/**
 * How long a replica slot waits before restarting a replica that crashed:
 * 20 ms first, then 4× per crash up to 5 s, and back to 20 ms once a
 * replica has run 10 s without trouble. Pure, so the schedule is testable
 * without crashing processes.
 */

/** The schedule's figures; the defaults are the runtime's. */
export interface BackoffOptions {
  /** The first delay, in ms. Default 20. */
  firstMs?: number
  /** The longest delay, in ms. Default 5000. */
  maxMs?: number
  /** How much each crash multiplies the delay. Default 4. */
  factor?: number
  /** A replica that ran this long (ms) resets the delay. Default 10000. */
  stableMs?: number
}

/**
 * One slot's backoff.
 *
 * @example
 * const backoff = new RestartBackoff()
 * setTimeout(restart, backoff.next(Date.now() - startedAt))
 */
export class RestartBackoff {
  readonly #firstMs: number
  readonly #maxMs: number
  readonly #factor: number
  readonly #stableMs: number
  #delayMs: number

  constructor(options: BackoffOptions = {}) {
    this.#firstMs = options.firstMs ?? 20
    this.#maxMs = options.maxMs ?? 5000
    this.#factor = options.factor ?? 4
    this.#stableMs = options.stableMs ?? 10_000
    this.#delayMs = this.#firstMs
  }

  /** The delay before the next restart, given how long (ms) the replica that exited ran. */
  next(ranMs: number): number {
    if (ranMs > this.#stableMs) this.#delayMs = this.#firstMs
    const delay = this.#delayMs
    this.#delayMs = Math.min(this.#delayMs * this.#factor, this.#maxMs)
    return delay
  }
}
