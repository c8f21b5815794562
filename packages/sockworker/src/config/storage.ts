/**
 * `[workers.storage]`: key-value bindings on `env`. Each is one of
 *
 *   STORE = { path = "data/kv.sqlite" }                     # embedded SQLite (default kind)
 *   CACHE = { url = "redis://cache.internal:6379/0" }       # Redis
 *   DB    = { url = "postgres://app@db.internal/app", password_secret = "DB_PASSWORD" }
 *
 * A password comes from the URL or, better, from one of the worker's
 * `secrets` named by `password_secret`, so the config file holds none.
 */
import { resolve as resolvePath } from 'node:path'
import { redactUrl, STORAGE_SCHEMES } from '../storage/url.ts'
import { object } from './containers.ts'
import {
  type Checked,
  type Context,
  INVALID,
  integer,
  optional,
  type Path,
  pipe,
  type Schema,
  string,
} from './validate.ts'

/** A binding as checked, before `password_secret` is looked up among the secrets. */
export type CheckedStorage =
  | { path: string }
  | {
      url: string
      password_secret?: string
      namespace: string
      timeout_ms: number
    }

const NAMESPACE = /^[a-z_][a-z0-9_]{0,39}$/

/**
 * The schema of one binding; `dir` is the config file's directory, where a
 * relative `path` starts.
 *
 * @example
 * record(storageSchema('/srv/app'), envKeys)
 */
export function storageSchema(dir: string): Schema<CheckedStorage> {
  const shape = object({
    path: optional(string({ pattern: /\S/, expected: 'a path for the SQLite file' })),
    url: optional(string({ expected: 'a redis://, postgres:// or postgresql:// URL' })),
    password_secret: optional(
      string({
        pattern: /^[A-Za-z_][A-Za-z0-9_]*$/,
        expected: "the name of one of the worker's secrets",
      }),
    ),
    namespace: optional(
      string({
        pattern: NAMESPACE,
        expected: 'up to 40 lowercase letters, digits and "_", not starting with a digit',
      }),
    ),
    timeout_ms: optional(integer(100, 600_000)),
  })
  const expected =
    'a table { path = "data/kv.sqlite" } or { url = "redis://…" } or { url = "postgres://…" }'
  return {
    expected,
    check(value, path, ctx) {
      const checked = pipe(shape, (table, at, c) => checkBinding(table, { dir, path: at, ctx: c }))
      return checked.check(value, path, ctx)
    },
  }
}

type Table = {
  path?: string
  url?: string
  password_secret?: string
  namespace?: string
  timeout_ms?: number
}

function checkBinding(
  table: Table,
  where: { dir: string; path: Path; ctx: Context },
): Checked<CheckedStorage> {
  const { path, ctx } = where
  if (table.path !== undefined && table.url !== undefined) {
    return ctx.report(path, 'give path (SQLite) or url (Redis, PostgreSQL), not both')
  }
  if (table.path !== undefined) {
    const extra = (['password_secret', 'namespace', 'timeout_ms'] as const).filter(
      (key) => table[key] !== undefined,
    )
    if (extra.length > 0) {
      return ctx.report(
        path,
        `${extra.join(', ')} ${extra.length === 1 ? 'applies' : 'apply'} only to a url binding, not a SQLite path`,
      )
    }
    return { path: resolvePath(where.dir, table.path) }
  }
  if (table.url === undefined) {
    return ctx.report(
      path,
      'needs a path (SQLite), as { path = "data/kv.sqlite" }, or a url, as { url = "redis://host:6379" }',
    )
  }
  if (checkUrl(table.url, !!table.password_secret, [...path, 'url'], ctx) === INVALID) {
    return INVALID
  }
  return {
    url: table.url,
    ...(table.password_secret !== undefined && { password_secret: table.password_secret }),
    namespace: table.namespace ?? 'sockworker',
    timeout_ms: table.timeout_ms ?? 5000,
  }
}

function checkUrl(
  text: string,
  hasSecret: boolean,
  path: Path,
  ctx: Context,
): Checked<'redis' | 'postgres'> {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return ctx.report(
      path,
      `${JSON.stringify(redactUrl(text))} is not a URL; expected a redis:// or postgres:// URL`,
    )
  }
  const backend = STORAGE_SCHEMES[url.protocol]
  if (backend === undefined || url.protocol === 'rediss:') {
    const why =
      backend === undefined ? 'is not a storage backend' : '(Redis over TLS) is not supported yet'
    return ctx.report(
      path,
      `scheme "${url.protocol}" ${why}; use redis://, postgres:// or postgresql://`,
    )
  }
  if (url.hostname === '') {
    return ctx.report(
      path,
      `${JSON.stringify(redactUrl(text))} names no host, as in "${url.protocol}//host:port"`,
    )
  }
  if (hasSecret && url.password !== '') {
    return ctx.report(
      path,
      'has a password and password_secret names one too; keep only password_secret',
    )
  }
  return backend
}

/**
 * Checks that each binding's `password_secret` names one of the worker's
 * `secrets` (`path` is the worker's); returns whether all do.
 *
 * @example
 * const ok = checkPasswordSecrets(worker.storage, worker.secrets, path, ctx)
 */
export function checkPasswordSecrets(
  storage: Record<string, CheckedStorage>,
  secrets: Record<string, unknown>,
  path: Path,
  ctx: Context,
): boolean {
  let ok = true
  for (const [name, spec] of Object.entries(storage)) {
    const secret = 'url' in spec ? spec.password_secret : undefined
    if (secret === undefined || Object.hasOwn(secrets, secret)) continue
    ok = false
    ctx.report(
      [...path, 'storage', name, 'password_secret'],
      `${JSON.stringify(secret)} is not one of this worker's secrets; add it under [workers.secrets]`,
    )
  }
  return ok
}
