/**
 * The global `addEventListener` of the service-worker form. Only the events
 * a worker can receive are accepted, so that a typo fails loudly.
 *
 * Listeners are called here rather than through an `EventTarget`: Node
 * reports a listener's throw as an uncaught exception, which would restart
 * the replica. A worker's throw belongs to the one connection or request
 * that caused it, so `dispatch` hands it back to the caller.
 */

export type Listener = ((event: Event) => void) | { handleEvent(event: Event): void }

const known = new Set(['connect', 'fetch'])

class WorkerEvents {
  readonly #listeners = new Map<string, Listener[]>()

  add(type: string, listener: Listener): void {
    if (!known.has(type)) {
      throw new TypeError(
        `Cannot listen for "${type}" events: a worker receives "connect" (and "fetch")`,
      )
    }
    const listeners = this.#listeners.get(type) ?? []
    // As with EventTarget, adding the same listener twice adds it once.
    if (!listeners.includes(listener)) listeners.push(listener)
    this.#listeners.set(type, listeners)
  }

  has(type: string): boolean {
    return this.#listeners.has(type)
  }

  /** Calls every listener in order; then throws the first error any of them threw. */
  dispatch(event: Event): void {
    let failure: { error: unknown } | undefined
    for (const listener of this.#listeners.get(event.type) ?? []) {
      try {
        if (typeof listener === 'function') listener(event)
        else listener.handleEvent(event)
      } catch (error) {
        failure ??= { error }
      }
    }
    if (failure !== undefined) throw failure.error
  }
}

export const workerEvents = new WorkerEvents()
