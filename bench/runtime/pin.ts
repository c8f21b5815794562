/**
 * Keeps the server under test and the load client on separate cores, where
 * `taskset` exists and there are two cores or more: the server (and every
 * process it starts) on core 0, this benchmark process, the client, on core 1.
 */
import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

const taskset = (() => {
  if (availableParallelism() < 2) return false
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** The command and arguments that run `command` on the server's core. */
export function onServerCore(command: string, args: string[]): [string, string[]] {
  return taskset ? ['taskset', ['-c', '0', command, ...args]] : [command, args]
}

/**
 * Moves this process (the client) to core 1 until the returned function
 * puts it back where it was; a no-op without `taskset`.
 *
 * @example
 * const unpin = pinClient()
 * try { await load() } finally { unpin() }
 */
export function pinClient(): () => void {
  if (!taskset) return () => {}
  const pid = String(process.pid)
  const before = /:\s*([0-9a-f,]+)\s*$/i.exec(
    execFileSync('taskset', ['-p', pid], { encoding: 'utf8' }),
  )?.[1]
  execFileSync('taskset', ['-a', '-pc', '1', pid], { stdio: 'ignore' })
  return () => {
    if (before !== undefined)
      execFileSync('taskset', ['-a', '-p', before, pid], { stdio: 'ignore' })
  }
}

/** Whether the figures were taken pinned, for the report. */
export const pinned = taskset
