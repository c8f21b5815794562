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

/**
 * Opens every binding. Names sharing a file share one connection.
 * `baseDir` is the config file's directory (default: the working directory).
 *
 * @example
 * Object.assign(env, openBindings({ STORE: { path: 'data/kv.sqlite' } }, configDir))
 */
export function openBindings(
  specs: Record<string, StorageBindingSpec>,
  baseDir: string = process.cwd(),
): Record<string, Storage> {
  const byFile = new Map<string, SqliteStorage>()
  const bindings: Record<string, Storage> = {}
  for (const [name, spec] of Object.entries(specs)) {
    if (typeof spec?.path !== 'string' || spec.path === '') {
      throw new Error(`Storage binding "${name}" needs a path, e.g. { path = "data/kv.sqlite" }`)
    }
    const file = resolve(baseDir, spec.path)
    let storage = byFile.get(file)
    if (!storage) {
      try {
        storage = openSqliteStorage(file)
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        throw new Error(`Storage binding "${name}" could not open "${file}": ${reason}`)
      }
      byFile.set(file, storage)
    }
    bindings[name] = storage
  }
  return bindings
}
