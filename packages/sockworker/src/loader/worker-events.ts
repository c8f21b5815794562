/**
 * The global `addEventListener` of the service-worker form. Only the events
 * a worker can receive are accepted, so that a typo fails loudly.
 */
export type Listener = ((event: Event) => void) | { handleEvent(event: Event): void }

const known = new Set(['connect', 'fetch'])

class WorkerEvents {
  readonly #target = new EventTarget()
  readonly #types = new Set<string>()

  add(type: string, listener: Listener): void {
    if (!known.has(type)) {
      throw new TypeError(
        `Cannot listen for "${type}" events: a worker receives "connect" (and "fetch")`,
      )
    }
    this.#types.add(type)
    this.#target.addEventListener(type, listener)
  }

  has(type: string): boolean {
    return this.#types.has(type)
  }

  dispatch(event: Event): void {
    this.#target.dispatchEvent(event)
  }
}

export const workerEvents = new WorkerEvents()
