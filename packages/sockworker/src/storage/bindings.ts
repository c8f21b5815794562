/**
 * Opens a worker's storage bindings from its config, so the replica's main
 * can put them on `env` in one line: an SQLite file (`path`), or a Redis or
 * PostgreSQL server (`url`). The server backends load (their module, their
 * driver) and connect on first use, so a worker pays only for what it uses.
 */
import { resolve } from 'node:path'
import { plainSocket, type RuntimeSocketFactory } from '../egress/runtime-socket.ts'
import { lazyStorage } from './lazy.ts'
import { openSqliteStorage } from './sqlite.ts'
import type { Storage } from './types.ts'
import { backendOf, redactUrl } from './url.ts'

/**
 * One binding in config: `STORE = { path = "data/kv.sqlite" }`, or
 * `STORE = { url = "redis://…" | "postgres://…", … }` (see config/storage.ts).
 */
export type StorageBindingSpec =
  | { path: string }
  | { url: string; password?: string; namespace?: string; timeoutMs?: number }

export interface OpenBindingsOptions {
  /** Where relative SQLite paths start. Default: the working directory. */
  baseDir?: string
  /**
   * Opens the remote backends' connections; the replica passes the egress
   * guard's factory, so they are exempt from the worker's policy.
   * Default: plain sockets (under the guard, if one is installed).
   */
  socket?: RuntimeSocketFactory
}

/**
 * One storage per file or server for this process, however many times
 * bindings are opened; kept per socket factory, so code without the
 * runtime's factory (a worker importing this module) never gets a storage
 * whose connections bypass the egress guard.
 */
const openedBy = new WeakMap<RuntimeSocketFactory, Map<string, Storage>>()

/**
 * Opens every binding. Names sharing a file (or a server, credentials and
 * namespace) share one storage, and so do repeated calls (a replica may
 * build `env` more than once).
 *
 * @example
 * const env = { ...vars, ...openBindings({ STORE: { path: '/srv/data/kv.sqlite' } }) }
 */
export function openBindings(
  specs: Record<string, StorageBindingSpec>,
  options: OpenBindingsOptions = {},
): Record<string, Storage> {
  const socket = options.socket ?? plainSocket
  let opened = openedBy.get(socket)
  if (opened === undefined) openedBy.set(socket, (opened = new Map()))
  const bindings: Record<string, Storage> = {}
  for (const [name, spec] of Object.entries(specs)) {
    const key = cacheKey(name, spec, options.baseDir ?? process.cwd())
    let storage = opened.get(key)
    if (!storage) {
      storage = open(name, spec, key, socket)
      opened.set(key, storage)
    }
    bindings[name] = storage
  }
  return bindings
}

function cacheKey(name: string, spec: StorageBindingSpec, baseDir: string): string {
  if ('url' in spec && typeof spec.url === 'string') {
    if (backendOf(spec.url) === undefined) {
      throw new Error(
        `Storage binding "${name}": "${redactUrl(spec.url)}" is not a redis:// or postgres:// URL`,
      )
    }
    return JSON.stringify([spec.url, spec.password ?? '', spec.namespace ?? 'sockworker'])
  }
  if (!('path' in spec) || typeof spec.path !== 'string' || spec.path === '') {
    throw new Error(
      `Storage binding "${name}" needs a path, e.g. { path = "data/kv.sqlite" }, or a url, e.g. { url = "redis://host:6379" }`,
    )
  }
  return resolve(baseDir, spec.path)
}

function open(
  name: string,
  spec: StorageBindingSpec,
  key: string,
  socket: RuntimeSocketFactory,
): Storage {
  if ('url' in spec) {
    const remote = {
      socket,
      ...(spec.password !== undefined && { password: spec.password }),
      ...(spec.namespace !== undefined && { namespace: spec.namespace }),
      ...(spec.timeoutMs !== undefined && { timeoutMs: spec.timeoutMs }),
    }
    const url = spec.url
    return backendOf(url) === 'redis'
      ? lazyStorage(async () => (await import('./redis.ts')).openRedisStorage(url, remote))
      : lazyStorage(async () => (await import('./postgres.ts')).openPostgresStorage(url, remote))
  }
  try {
    return openSqliteStorage(key)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`Storage binding "${name}" could not open "${key}": ${reason}`)
  }
}
