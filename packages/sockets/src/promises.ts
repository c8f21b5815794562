/** Small promise helpers: a shared no-op handler, a wait for the next turn, work batched per turn. */

type Immediate = (fn: () => void) => unknown
const immediate = (globalThis as { setImmediate?: Immediate }).setImmediate

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
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)))
}

let due: Array<() => void> = []
function runDue(): void {
  const tasks = due
  due = []
  for (const task of tasks) {
    try {
      task()
    } catch (error) {
      // One task's failure must not strand the others: report it apart.
      queueMicrotask(() => {
        throw error
      })
    }
  }
}

/**
 * Runs `task` once the current turn's I/O callbacks are done (Node and Bun:
 * one shared `setImmediate` for every task of the turn), or at once where
 * the runtime has no such hook. Returns whether it deferred `task`.
 */
export function atEndOfTurn(task: () => void): boolean {
  if (immediate === undefined) return false
  if (due.push(task) === 1) immediate(runDue)
  return true
}
