/**
 * The container combinators of the validator: `array`, `record` and
 * `object`. Each checks every element, even after one has failed, so that
 * all the problems in a table are reported together.
 */
import { closest } from './suggest.ts'
import {
  type Checked,
  type Context,
  INVALID,
  isTable,
  mismatch,
  type ObjectOf,
  type Path,
  type Schema,
} from './validate.ts'

/**
 * An array whose items all match `item`.
 *
 * @example
 * array(string(), { nonEmpty: true })
 */
export function array<T>(
  item: Schema<T>,
  options: { nonEmpty?: boolean; expected?: string } = {},
): Schema<T[]> {
  const expected = options.expected ?? `an array of ${item.expected}`
  return {
    expected,
    check(value, path, ctx) {
      if (!Array.isArray(value)) return mismatch(ctx, path, value, expected)
      if (options.nonEmpty && value.length === 0) {
        return ctx.report(path, `is empty; expected ${expected}`)
      }
      const out: T[] = []
      let failed = false
      value.forEach((element, index) => {
        const checked = item.check(element, [...path, index], ctx)
        if (checked === INVALID) failed = true
        else out.push(checked)
      })
      return failed ? INVALID : out
    },
  }
}

/**
 * A table with keys of the caller's choosing (names of vars, secrets, SNI
 * hosts) whose values all match `value`. The result is built with
 * `Object.fromEntries`, so a key such as `__proto__` stays an ordinary key.
 *
 * @example
 * record(string(), { key: /^[A-Z_][A-Z0-9_]*$/i, keyExpected: 'a name of letters, digits and _' })
 */
export function record<T>(
  value: Schema<T>,
  options: { key?: RegExp; keyExpected?: string } = {},
): Schema<Record<string, T>> {
  const expected = `a table of ${value.expected}`
  return {
    expected,
    check(input, path, ctx) {
      if (!isTable(input)) return mismatch(ctx, path, input, expected)
      const entries: [string, T][] = []
      let failed = false
      for (const [key, element] of Object.entries(input)) {
        if (options.key && !options.key.test(key)) {
          failed = true
          ctx.report([...path, key], `key is not ${options.keyExpected ?? 'allowed'}`)
          continue
        }
        const checked = value.check(element, [...path, key], ctx)
        if (checked === INVALID) failed = true
        else entries.push([key, checked])
      }
      return failed ? INVALID : Object.fromEntries(entries)
    },
  }
}

/**
 * A table with a fixed set of keys. A key is required unless its schema is
 * `optional(...)` or `withDefault(...)`. Unknown keys are errors, with a
 * "did you mean" for near misses, because a misspelt key silently ignored
 * is a setting that silently does not apply. A table whose keys are all
 * optional or defaulted may itself be left out: it then takes its defaults.
 *
 * @example
 * object({ name: string(), replicas: withDefault(integer(1, 256), () => 1) })
 */
export function object<S extends Record<string, Schema<unknown>>>(shape: S): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape)
  const schemas = Object.values(shape)
  const fallback = schemas.every((schema) => schema.fallback || schema.optional)
    ? () => defaults(shape) as ObjectOf<S>
    : undefined
  return {
    expected: 'a table',
    ...(fallback && { fallback }),
    check(input, path, ctx) {
      if (!isTable(input)) return mismatch(ctx, path, input, 'a table')
      let failed = reportUnknownKeys(input, keys, path, ctx)
      const out: Record<string, unknown> = {}
      for (const key of keys) {
        const checked = checkKey(shape[key]!, input[key], [...path, key], ctx)
        if (checked === INVALID) failed = true
        else if (checked !== ABSENT) out[key] = checked
      }
      return failed ? INVALID : (out as ObjectOf<S>)
    },
  }
}

function defaults(shape: Record<string, Schema<unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, schema] of Object.entries(shape)) {
    if (schema.fallback) out[key] = schema.fallback()
  }
  return out
}

const ABSENT: unique symbol = Symbol('absent')

function checkKey(
  schema: Schema<unknown>,
  value: unknown,
  path: Path,
  ctx: Context,
): Checked<unknown> | typeof ABSENT {
  if (value !== undefined) return schema.check(value, path, ctx)
  if (schema.fallback) return schema.fallback()
  if (schema.optional) return ABSENT
  return ctx.report(path, `required key is missing; expected ${schema.expected}`)
}

function reportUnknownKeys(
  input: Record<string, unknown>,
  keys: readonly string[],
  path: Path,
  ctx: Context,
): boolean {
  let failed = false
  for (const key of Object.keys(input)) {
    if (keys.includes(key)) continue
    failed = true
    const near = closest(key, keys)
    const hint =
      near === undefined
        ? `allowed keys are ${keys.map((k) => JSON.stringify(k)).join(', ')}`
        : `did you mean ${JSON.stringify(near)}?`
    ctx.report([...path, key], `unknown key; ${hint}`)
  }
  return failed
}
