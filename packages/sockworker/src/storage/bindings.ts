/**
 * Opens a worker's storage bindings from its config: one SQLite file per
 * binding name, so the replica's main can put them on `env` in one line.
 */
import { resolve } from 'node:path'
import { openSqliteStorage, type SqliteStorage } from './sqlite.ts'
import type { Storage } from './types.ts'

/** One binding in config: `STORE = { path = "data/kv.sqlite" }`. */
export interface StorageBindingSpec {
  /** The SQLite file; relative paths resolve against `baseDir`. */
  path: string
}

/** One connection per file for this process, however many times bindings are opened. */
const opened = new Map<string, SqliteStorage>()

/**
 * Opens every binding. Names sharing a file share one connection, and so do
 * repeated calls (a replica may build `env` more than once).
 * `baseDir` is the config file's directory (default: the working directory).
 *
 * @example
 * const env = { ...vars, ...openBindings({ STORE: { path: '/srv/data/kv.sqlite' } }) }
 */
export function openBindings(
  specs: Record<string, StorageBindingSpec>,
  baseDir: string = process.cwd(),
): Record<string, Storage> {
  const bindings: Record<string, Storage> = {}
  for (const [name, spec] of Object.entries(specs)) {
    if (typeof spec?.path !== 'string' || spec.path === '') {
      throw new Error(`Storage binding "${name}" needs a path, e.g. { path = "data/kv.sqlite" }`)
    }
    const file = resolve(baseDir, spec.path)
    let storage = opened.get(file)
    if (!storage) {
      try {
        storage = openSqliteStorage(file)
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        throw new Error(`Storage binding "${name}" could not open "${file}": ${reason}`)
      }
      opened.set(file, storage)
    }
    bindings[name] = storage
  }
  return bindings
}
