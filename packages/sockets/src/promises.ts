/** Small promise helpers: a shared no-op handler, and a wait for the next turn. */

/**
 * One shared no-op for marking promises handled. An inline `() => {}` is a
 * new function object on every call, and sockets make several each.
 */
export function noop(): void {}

/**
 * Resolves after pending promise reactions have run: one macrotask turn.
 * `setImmediate` where the runtime has it (Node, Bun): `setTimeout(0)` waits
 * at least a millisecond, which a `close()` would pay every time.
 */
export function nextTurn(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)))
}
