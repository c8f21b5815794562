/**
 * The schema of `sockworker.toml`, declared once. `configSchema()` builds it
 * for one file: paths are relative to that file's directory, and names and
 * addresses must be unique across the whole file.
 *
 * The result keeps the file's snake_case keys; `resolve.ts` turns it into
 * the camelCase `ResolvedConfig` once every deferred file read is done.
 */
import { listenAddress } from './address.ts'
import { array, object, record } from './containers.ts'
import { readFileRef, scriptFile, type TextRef, textFile } from './files.ts'
import { Bindings, listenerSchema, MAX_TIMER_MS } from './listener.ts'
import { sandboxSchema } from './sandbox.ts'
import { checkPasswordSecrets, storageSchema } from './storage.ts'
import type { LoadOptions } from './types.ts'
import {
  formatPath,
  INVALID,
  type Infer,
  integer,
  isTable,
  mismatch,
  oneOf,
  optional,
  pipe,
  type Schema,
  string,
  withDefault,
} from './validate.ts'

/**
 * The longest a connection may take over its TLS handshake or its PROXY or
 * HTTP request head: these bound what a slow or silent client can hold, so
 * "never" is not on offer.
 */
const MAX_SETUP_MS = 600_000
const WORKER_NAME = /^[a-z0-9][a-z0-9_-]*$/i
const WORKER_NAME_EXPECTED =
  'a name of letters, digits, "_" and "-" that starts with a letter or digit'
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const ENV_NAME_EXPECTED = 'a name of letters, digits and "_", not starting with a digit'

/** What `configSchema` needs besides the file's contents. */
export interface SchemaOptions extends LoadOptions {
  /** The config file's directory: relative paths start here. */
  dir: string
}

/**
 * Builds the schema for one config file.
 *
 * @example
 * const ctx = new Context()
 * const checked = configSchema({ dir: '/srv/app' }).check(parse(text), [], ctx)
 */
export function configSchema(options: SchemaOptions) {
  const bindings = new Bindings()
  return object({
    log: object({
      format: withDefault(oneOf(['json', 'pretty']), () => 'json' as const),
      level: withDefault(oneOf(['debug', 'info', 'warn', 'error']), () => 'info' as const),
    }),
    metrics: object({
      listen: optional(
        pipe(listenAddress(), (address, path, ctx) => {
          const clash = bindings.add(path, 'metrics', address)
          return clash === undefined ? address : ctx.report(path, clash)
        }),
      ),
    }),
    drain: object({
      delay_ms: withDefault(integer(0, MAX_TIMER_MS), () => 0),
    }),
    workers: array(workerSchema(options, bindings), {
      nonEmpty: true,
      expected: 'one or more [[workers]] tables',
    }),
  })
}

/** The validated file, before files are read into strings. */
export type CheckedConfig = Infer<ReturnType<typeof configSchema>>
export type CheckedWorker = CheckedConfig['workers'][number]

function workerSchema(options: SchemaOptions, bindings: Bindings) {
  const names = new Map<string, string>()
  const name = pipe(
    string({ pattern: WORKER_NAME, expected: WORKER_NAME_EXPECTED }),
    (value, path, ctx) => {
      const earlier = names.get(value)
      if (earlier !== undefined) {
        return ctx.report(path, `${JSON.stringify(value)} is already the name of ${earlier}`)
      }
      names.set(value, formatPath(path.slice(0, -1)))
      return value
    },
  )
  const envKeys = { key: ENV_NAME, keyExpected: ENV_NAME_EXPECTED }
  const worker = object({
    name,
    script: scriptFile(options.dir),
    replicas: withDefault(integer(1, 256), () => 1),
    compatibility: withDefault(oneOf(['workerd', 'node'] as const), () => 'workerd' as const),
    vars: withDefault(record(varValue(), envKeys), () => ({})),
    secrets: withDefault(record(secretSource(options), envKeys), () => ({})),
    limits: object({
      memory_mb: withDefault(integer(16, 65_536), () => 256),
      cpu_ms: withDefault(integer(10, 600_000), () => 2000),
      max_connections: withDefault(integer(1, 1_000_000), () => 10_000),
      handshake_timeout_ms: withDefault(integer(1, MAX_SETUP_MS), () => 10_000),
      header_timeout_ms: withDefault(integer(1, MAX_SETUP_MS), () => 10_000),
      idle_timeout_ms: withDefault(integer(0, MAX_TIMER_MS), () => 300_000),
      drain_timeout_ms: withDefault(integer(0, MAX_TIMER_MS), () => 30_000),
    }),
    egress: egressSchema(options),
    tunnels: withDefault(array(tunnelSchema(options.dir)), () => []),
    storage: withDefault(record(storageSchema(options.dir), envKeys), () => ({})),
    sandbox: sandboxSchema(options.dir),
    listeners: array(listenerSchema(options.dir, bindings), {
      nonEmpty: true,
      expected: 'one or more [[workers.listeners]] tables',
    }),
  })
  return pipe(worker, (value, path, ctx) => {
    const both = Object.keys(value.secrets).filter((key) => Object.hasOwn(value.vars, key))
    for (const key of both) {
      ctx.report(
        [...path, 'secrets', key],
        `${JSON.stringify(key)} is also in vars; use one or the other`,
      )
    }
    const secretsOk = checkPasswordSecrets(value.storage, value.secrets, path, ctx)
    return both.length === 0 && secretsOk ? value : INVALID
  })
}

/** A var: a string, number or boolean, passed to the worker as a string. */
function varValue(): Schema<string> {
  const expected = 'a string, number or boolean'
  return {
    expected,
    check(value, path, ctx) {
      if (typeof value === 'string') return value
      if (typeof value === 'number' || typeof value === 'boolean') return String(value)
      return mismatch(ctx, path, value, expected)
    },
  }
}

/** A secret: `{ env = "NAME" }` or `{ file = "path" }`, resolved to its value. */
function secretSource(options: SchemaOptions): Schema<TextRef> {
  const expected = 'a table { env = "NAME" } or { file = "path" }'
  const env = options.env ?? process.env
  const shape = object({ env: optional(string()), file: optional(string()) })
  return {
    expected,
    check(value, path, ctx) {
      if (!isTable(value)) return mismatch(ctx, path, value, expected)
      const source = shape.check(value, path, ctx)
      if (source === INVALID) return INVALID
      if (source.env !== undefined && source.file !== undefined) {
        return ctx.report(path, 'give env or file, not both')
      }
      if (source.file !== undefined) {
        return readFileRef(source.file, { dir: options.dir, path: [...path, 'file'], ctx })
      }
      if (source.env === undefined) return ctx.report(path, `is empty; expected ${expected}`)
      const text = env[source.env]
      if (text !== undefined) return { text }
      const name = JSON.stringify(source.env)
      return ctx.report(
        [...path, 'env'],
        `environment variable ${name} is not set; set it, or use { file = "path" }`,
      )
    },
  }
}

function egressSchema(options: SchemaOptions) {
  const defaults = { allow: ['public'], deny: [], ...options.egressDefault }
  const rule = pipe(
    string({ expected: 'an egress rule (a non-empty string)' }),
    (value, path, ctx) => {
      const problem = options.checkEgressRule?.(value)
      return problem === undefined ? value : ctx.report(path, problem)
    },
  )
  return object({
    allow: withDefault(array(rule), () => [...defaults.allow]),
    deny: withDefault(array(rule), () => [...defaults.deny]),
  })
}

/**
 * `[[workers.tunnels]]`: connections this worker makes to `target` go
 * through the sockworker tunnel at `url`, as TCP over WebSocket.
 */
function tunnelSchema(dir: string) {
  return object({
    target: string({
      pattern: /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
      expected: 'the "host:port" the worker connects to, as "db.internal:5432"',
    }),
    url: string({ pattern: /^wss?:\/\/[^/\s]+/, expected: 'a ws:// or wss:// address' }),
    token_file: optional(
      textFile(dir, {
        expected: "a path to a file holding the tunnel's token",
        // The token travels in a WebSocket subprotocol, which allows few characters.
        check: (text) =>
          /^[A-Za-z0-9._~+-]+\n?$/.test(text)
            ? undefined
            : 'holds characters a tunnel token cannot have; use letters, digits and . _ ~ + - on one line',
      }),
    ),
  })
}
