/**
 * A millisecond idle timeout. Bun's own `socket.timeout()` counts whole
 * seconds, too coarse for `idleTimeout: 200`. Activity only stamps the time;
 * the one timer checks the stamp when it fires and re-arms for the rest, so a
 * busy socket costs no timer churn per chunk.
 */
export class IdleTimer {
  readonly #onIdle: () => void
  #ms = 0
  #last = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(onIdle: () => void) {
    this.#onIdle = onIdle
  }

  /** `0` turns it off. */
  set(ms: number): void {
    this.stop()
    this.#ms = ms
    if (ms <= 0) return
    this.#last = performance.now()
    this.#arm(ms)
  }

  touch(): void {
    if (this.#ms > 0) this.#last = performance.now()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#fire, delay)
  }

  #fire = (): void => {
    const quiet = performance.now() - this.#last
    if (quiet < this.#ms) return this.#arm(this.#ms - quiet)
    // As Node's socket timeout: reported once per idle period.
    this.#last = performance.now()
    this.#arm(this.#ms)
    this.#onIdle()
  }
}
