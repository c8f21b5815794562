/**
 * A tiny declarative validator: schemas built from combinators such as
 * `object({...})`, `integer(1, 256)` and `oneOf([...])`. Each schema checks a
 * parsed TOML value, reports every problem it finds at its key path and
 * carries on, so that one run lists all the mistakes in a file.
 *
 * Checks that need the file system (a script exists, a certificate can be
 * read) run concurrently: a schema hands them to `Context.defer`, and their
 * issues are slotted in where the schema met the key, so the order of the
 * report follows the file and does not depend on which read finished first.
 */
import { closest } from './suggest.ts'

/** A key path: table keys and array indices, e.g. `['workers', 0, 'name']`. */
export type Path = readonly (string | number)[]

/** One problem found at a key path. */
export interface Issue {
  path: Path
  message: string
}

/** Returned by a schema for a value that failed; the reason is already reported. */
export const INVALID: unique symbol = Symbol('invalid')
export type Checked<T> = T | typeof INVALID

/** Collects the issues of one validation run, including deferred (async) ones. */
export class Context {
  #entries: (Issue | Promise<readonly Issue[]>)[] = []

  /** Records a problem and returns `INVALID`, so a schema can `return ctx.report(...)`. */
  report(path: Path, message: string): typeof INVALID {
    this.#entries.push({ path, message })
    return INVALID
  }

  /** Records an async check; its issues are listed at this point in the report. */
  defer(work: Promise<readonly Issue[]>): void {
    this.#entries.push(
      work.catch((error: unknown) => [{ path: [], message: `internal error: ${String(error)}` }]),
    )
  }

  /** Waits for every deferred check and returns all issues in report order. */
  async settle(): Promise<Issue[]> {
    const issues: Issue[] = []
    for (const entry of this.#entries) {
      if (entry instanceof Promise) issues.push(...(await entry))
      else issues.push(entry)
    }
    return issues
  }
}

/** A schema: checks an unknown value and returns the typed (and possibly transformed) result. */
export interface Schema<T> {
  /** What the schema accepts, for messages: `an integer from 1 to 256`. */
  readonly expected: string
  check(value: unknown, path: Path, ctx: Context): Checked<T>
  /** In an `object`, an absent key is left out instead of being an error. */
  readonly optional?: true
  /** In an `object`, an absent key takes this value instead of being an error. */
  readonly fallback?: () => T
}

export type Infer<S> = S extends Schema<infer T> ? T : never
type Shape = Record<string, Schema<unknown>>
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends { readonly optional: true } ? K : never
}[keyof S]
type Flat<T> = { [K in keyof T]: T[K] } & {}
/** The output of `object(shape)`: optional keys become `?:` properties. */
export type ObjectOf<S extends Shape> = Flat<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
    [K in OptionalKeys<S>]?: Infer<S[K]>
  }
>

/** Formats a path the way a person writes it: `workers[0].sni."a.example.com".cert`. */
export function formatPath(path: Path): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else {
      const key = /^[A-Za-z0-9_-]+$/.test(segment) ? segment : JSON.stringify(segment)
      out += out === '' ? key : `.${key}`
    }
  }
  return out
}

/** True for a TOML table (smol-toml gives null-prototype objects; dates are `Date`s). */
export function isTable(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
  )
}

/** Shows a value in a message: strings quoted, tables and arrays by kind. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Date) return 'a date'
  if (isTable(value)) return 'a table'
  return String(value)
}

/** Reports `value` as not what `expected` describes. */
export function mismatch(
  ctx: Context,
  path: Path,
  value: unknown,
  expected: string,
): typeof INVALID {
  const scalar = typeof value !== 'object' || value === null
  return ctx.report(
    path,
    scalar ? `${show(value)} is not ${expected}` : `expected ${expected}, got ${show(value)}`,
  )
}

/**
 * A string, optionally matching `pattern` (then `expected` should say what it means).
 *
 * @example
 * string({ pattern: /^[a-z]+$/, expected: 'a lowercase word' })
 */
export function string(options: { pattern?: RegExp; expected?: string } = {}): Schema<string> {
  const expected = options.expected ?? 'a non-empty string'
  return {
    expected,
    check(value, path, ctx) {
      if (typeof value !== 'string' || value === '') return mismatch(ctx, path, value, expected)
      if (options.pattern && !options.pattern.test(value)) {
        return mismatch(ctx, path, value, expected)
      }
      return value
    },
  }
}

/**
 * An integer from `min` to `max`, inclusive.
 *
 * @example
 * integer(1, 256)
 */
export function integer(min: number, max: number): Schema<number> {
  const expected = `an integer from ${min} to ${max}`
  return {
    expected,
    check(value, path, ctx) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        return mismatch(ctx, path, value, expected)
      }
      return value
    },
  }
}

/**
 * One of a fixed set of strings; a near miss gets a "did you mean".
 *
 * @example
 * oneOf(['tcp', 'tls', 'udp', 'http'] as const)
 */
export function oneOf<const T extends string>(values: readonly T[]): Schema<T> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`
  return {
    expected,
    check(value, path, ctx) {
      if ((values as readonly unknown[]).includes(value)) return value as T
      if (typeof value !== 'string') return mismatch(ctx, path, value, expected)
      const near = closest(value, values)
      const hint = near === undefined ? '' : `; did you mean ${JSON.stringify(near)}?`
      return ctx.report(path, `${show(value)} is not ${expected}${hint}`)
    },
  }
}

/** `true` or `false`. */
export function boolean(): Schema<boolean> {
  const expected = 'true or false'
  return {
    expected,
    check(value, path, ctx) {
      return typeof value === 'boolean' ? value : mismatch(ctx, path, value, expected)
    },
  }
}

/** Makes a key of an `object` optional: when absent it is left out of the result. */
export function optional<T>(schema: Schema<T>): Schema<T> & { readonly optional: true } {
  return { ...schema, optional: true }
}

/** Gives a key of an `object` a default for when it is absent. */
export function withDefault<T>(schema: Schema<T>, value: () => NoInfer<T>): Schema<T> {
  return { ...schema, fallback: value }
}

/**
 * Runs `then` on a valid value: to check relations between keys or to
 * transform the value. `then` reports its own issues through `ctx`.
 */
export function pipe<T, U>(
  schema: Schema<T>,
  then: (value: T, path: Path, ctx: Context) => Checked<U>,
): Schema<U> {
  return {
    expected: schema.expected,
    check(value, path, ctx) {
      const checked = schema.check(value, path, ctx)
      return checked === INVALID ? INVALID : then(checked, path, ctx)
    },
  }
}
