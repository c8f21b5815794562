/**
 * What a sandboxed replica closes in its own process before the worker's
 * code loads, on top of Node's permission model (see docs/security.md):
 *
 * - `process.binding`: deprecated, and a route to raw handles and internals.
 *   The permission model refuses it too; here it is closed for good, also
 *   when a worker is allowed addons.
 * - `process._linkedBinding` and `process.dlopen`, unless the worker is
 *   allowed addons (an addon is native code: it can do anything anyway).
 * - `process.kill`: the permission model does not cover signals. A replica
 *   may signal itself only, not the supervisor or another worker's
 *   replicas, even when they run as the same account.
 *
 * Raw TCP and UDP handles (`server._handle`) stay reachable, as they are in
 * Node; what they could reach, the egress policy guards at their own
 * methods (`egress/enforce-handles.ts`). `net.Socket` itself is not
 * replaced: Node's child_process and stdio read it from the module at call
 * time, and would meet any replacement.
 *
 * Each is replaced by a non-writable, non-configurable property, so the
 * worker's code can neither restore nor redefine it, and the originals are
 * held only in this module's closures.
 */
import type { SandboxCapability } from '../config/types.ts'

/**
 * Closes the routes above. Call once, before the worker's code loads.
 *
 * @example
 * lockDown({ allow: worker.sandbox.allow })
 */
export function lockDown(options: { allow: readonly SandboxCapability[] }): void {
  closeMethod(process, 'binding', 'process.binding() is closed in a sandboxed worker')
  if (!options.allow.includes('addons')) {
    const hint = 'allow it with [workers.sandbox] allow = ["addons"]'
    closeMethod(process, '_linkedBinding', `process._linkedBinding() is closed; ${hint}`)
    closeMethod(process, 'dlopen', `Native addons are refused; ${hint}`)
  }
  guardSignals()
}

function accessDenied(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_ACCESS_DENIED' })
}

function lock(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: false, configurable: false })
}

function closeMethod(target: object, name: string, message: string): void {
  lock(target, name, () => {
    throw accessDenied(message)
  })
}

/**
 * `process.kill()` calls `process._kill()`; both are guarded, so neither a
 * direct call nor a library holding `process.kill` reaches another process.
 * pid 0 and negative pids name process groups, which hold other replicas.
 */
function guardSignals(): void {
  const self = process.pid
  const check = (pid: unknown) => {
    if (Number(pid) === self) return
    const error = new Error(
      `Cannot signal process ${String(pid)}: a sandboxed worker may signal only itself (EPERM)`,
    )
    throw Object.assign(error, { code: 'EPERM', errno: -1, syscall: 'kill' })
  }
  const raw = (process as unknown as { _kill(pid: number, signal: number): number })._kill
  const kill = process.kill
  lock(process, '_kill', (pid: number, signal: number) => {
    check(pid)
    return raw.call(process, pid, signal)
  })
  lock(process, 'kill', (pid: number, signal?: string | number) => {
    check(pid)
    return kill.call(process, pid, signal)
  })
}
