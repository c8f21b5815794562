/**
 * Makes the `ctx` a handler gets, and tracks its `waitUntil()` work.
 */
import type { WorkerContext } from '../loader/handlers.ts'

export interface ContextControl {
  ctx: WorkerContext
  /** Settles when every promise given to `waitUntil()` has settled, including ones added meanwhile. */
  settled(): Promise<void>
}

/**
 * @example
 * const { ctx, settled } = createContext(shutdown.signal)
 * await handler(socket, env, ctx)
 * await settled()
 */
export function createContext(signal: AbortSignal): ContextControl {
  // Most handlers never call waitUntil(): the set is made on first use.
  let pending: Set<Promise<unknown>> | undefined
  const ctx: WorkerContext = {
    waitUntil(promise) {
      if (!(promise instanceof Promise)) {
        throw new TypeError('ctx.waitUntil() takes a promise')
      }
      const tracked = promise.catch(() => {})
      const set = (pending ??= new Set())
      set.add(tracked)
      tracked.then(() => set.delete(tracked))
    },
    signal,
  }
  const settled = async () => {
    while (pending !== undefined && pending.size > 0) await Promise.all(pending)
  }
  return { ctx, settled }
}
