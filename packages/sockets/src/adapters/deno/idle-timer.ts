/**
 * `idleTimeout` for a Deno connection, which has no socket timeout of its
 * own. One timer per idle period, not one per read or write: activity only
 * moves a timestamp, and the timer, when it fires early, waits out the rest.
 */
export class IdleTimer {
  readonly #onIdle: () => void
  #ms = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #lastActivity = 0

  constructor(onIdle: () => void) {
    this.#onIdle = onIdle
  }

  /** Starts over with `ms` (`0` turns it off). */
  set(ms: number): void {
    this.#ms = ms
    this.touch()
    this.#arm(ms)
  }

  /** Records traffic. Costs nothing while no timeout is set. */
  touch(): void {
    if (this.#ms > 0) this.#lastActivity = performance.now()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#ms = 0
  }

  #arm(delay: number): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#ms <= 0) return
    this.#timer = setTimeout(() => {
      const quiet = performance.now() - this.#lastActivity
      if (quiet + 1 < this.#ms) return this.#arm(this.#ms - quiet)
      this.#onIdle()
    }, delay)
  }
}
