/**
 * Cloudflare habits: a folder with `wrangler.toml`, `wrangler.jsonc` or
 * `wrangler.json` runs with a bare `sockworker dev`. We read the fields that
 * describe the worker itself (`name`, `main`, `vars`, `compatibility_date`)
 * and ignore the rest, saying which, since routes, bindings to Cloudflare
 * products and build steps have no meaning here. The listeners come from
 * the CLI flags, as workerd's sockets do from its config.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { parseJsonc } from './jsonc.ts'
import { UsageError } from './usage.ts'

export const wranglerFiles = ['wrangler.toml', 'wrangler.jsonc', 'wrangler.json'] as const

/** The keys we read; every other top-level key is reported as ignored. */
const readKeys = new Set(['name', 'main', 'vars', 'compatibility_date', '$schema'])

export interface WranglerWorker {
  /** The config file read. */
  file: string
  name: string | undefined
  /** `main`, resolved against the config file's folder. */
  script: string
  vars: Record<string, string>
  compatibilityDate: string | undefined
  /** Top-level keys present in the file that sockworker does not use. */
  ignored: string[]
}

/** The first wrangler config in `dir`, or `undefined` when there is none. */
export function findWranglerConfig(dir: string): string | undefined {
  return wranglerFiles.map((name) => join(dir, name)).find((file) => existsSync(file))
}

/**
 * Reads a wrangler config; a mistake in it is a `UsageError` that names the
 * file and the field.
 *
 * @example
 * const worker = readWranglerConfig('/app/wrangler.toml') // { script: '/app/src/index.ts', vars: {…}, … }
 */
export function readWranglerConfig(file: string): WranglerWorker {
  const text = readFileSync(file, 'utf8')
  let data: unknown
  try {
    data = file.endsWith('.toml') ? parseToml(text) : parseJsonc(text)
  } catch (error) {
    throw new UsageError(`Cannot parse ${file}: ${(error as Error).message}`)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new UsageError(`${file}: expected a table of settings`)
  const config = data as Record<string, unknown>
  const { name, main, vars = {}, compatibility_date: date } = config
  if (typeof main !== 'string' || main === '')
    throw new UsageError(
      `${file}: "main" is missing; set it to the worker's entry file, e.g. main = "src/index.ts"`,
    )
  if (name !== undefined && typeof name !== 'string')
    throw new UsageError(`${file}: "name" must be a string`)
  if (date !== undefined && (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)))
    throw new UsageError(`${file}: "compatibility_date" must be a date written YYYY-MM-DD`)
  if (typeof vars !== 'object' || vars === null || Array.isArray(vars))
    throw new UsageError(`${file}: "vars" must be a table of names to values`)
  return {
    file,
    name,
    script: resolve(dirname(file), main),
    vars: Object.fromEntries(Object.entries(vars).map(([key, value]) => [key, varText(value)])),
    compatibilityDate: date,
    ignored: Object.keys(config).filter((key) => !readKeys.has(key)),
  }
}

/** Our env vars are strings: wrangler's JSON values arrive as their JSON text. */
function varText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}
