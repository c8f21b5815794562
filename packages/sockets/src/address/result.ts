/**
 * What the address parsers return: a value, or the reason the text is not
 * one. Parsers never throw, so that each caller words the error for its own
 * reader (an API caller, a config report, a command line) and chooses
 * whether to throw at all.
 */

/** A parsed value, or why there is none. */
export type Parsed<T> = { ok: true; value: T } | ParseFailure

/**
 * Why a value did not parse. `kind` says which error a caller that throws
 * should use: `'range'` for a number outside its range (`RangeError`),
 * `'type'` for anything else (`TypeError`).
 */
export interface ParseFailure {
  ok: false
  kind: 'type' | 'range'
  /** What is wrong, in words that follow the quoted input: `port 0 is not from 1 to 65535`. */
  reason: string
}

/** A successful result. */
export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value }
}

/** A failed result. */
export function failure(reason: string, kind: 'type' | 'range' = 'type'): ParseFailure {
  return { ok: false, kind, reason }
}

/**
 * Unwraps a result for a caller whose mistakes throw: `TypeError` or
 * `RangeError` as the failure's `kind` says, with `message(reason)`.
 *
 * @example
 * const port = orThrow(parsePort(value), (reason) => `Invalid port: ${reason}`)
 */
export function orThrow<T>(result: Parsed<T>, message: (reason: string) => string): T {
  if (result.ok) return result.value
  const text = message(result.reason)
  throw result.kind === 'range' ? new RangeError(text) : new TypeError(text)
}
