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
import { registerHooks, syncBuiltinESMExports } from 'node:module'
import type { SandboxCapability } from '../config/types.ts'
import { lockMethod, rawHandlePrototypes } from '../egress/raw-handles.ts'

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
    closeMethod(
      process,
      'dlopen',
      `Native addons are refused; ${hint} (for outbound QUIC, allow = ["quic"])`,
    )
  }
  guardSignals()
  closeSqlite()
  lockMethod(rawHandlePrototypes().pipe, 'bind', () => (path: unknown) => {
    throw accessDenied(
      `Cannot listen on the Unix socket "${String(path)}": a sandboxed worker listens through its config's listeners`,
    )
  })
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

const sqliteClosed =
  'node:sqlite is closed in a sandboxed worker: it does not follow the file permissions; use a storage binding ([workers.storage])'

/**
 * `node:sqlite` for the worker: `import … from 'node:sqlite'` and
 * `require('node:sqlite')` fail to resolve, and every function on its
 * exports object (what `process.getBuiltinModule()` returns) throws. The
 * storage binding's connections, opened before this, keep working; the
 * runtime opens none afterwards. Node does not sync the ES namespace of a
 * `node:`-only module with its exports, hence the resolve hook. The hook
 * API is then closed, so a worker cannot register a hook of its own that
 * would answer first.
 */
function closeSqlite(): void {
  const sqlite = process.getBuiltinModule('node:sqlite') as unknown as Record<string, unknown>
  for (const [name, value] of Object.entries(sqlite)) {
    if (typeof value === 'function') closeMethod(sqlite, name, sqliteClosed)
  }
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === 'node:sqlite') throw accessDenied(sqliteClosed)
      return nextResolve(specifier, context)
    },
  })
  const hooks = 'a sandboxed worker cannot change how modules resolve'
  const module = process.getBuiltinModule('node:module') as unknown as object
  closeMethod(module, 'registerHooks', `module.registerHooks() is closed: ${hooks}`)
  closeMethod(module, 'register', `module.register() is closed: ${hooks}`)
  syncBuiltinESMExports()
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
