/**
 * What a fuzz target is: a parser's documented contract, checked on one
 * input of arbitrary bytes. Targets live one per file in `fuzz/targets/`.
 */

/** A fuzz target: seeds to mutate, and a check that throws only for a bug. */
export interface FuzzTarget {
  /** Well-formed inputs that mutation starts from (most inputs are mutated seeds). */
  seeds: readonly Uint8Array[]
  /** Byte strings worth splicing in: keywords, delimiters, magic numbers. */
  dictionary?: readonly Uint8Array[]
  /** Longest input generated. Default: 4096. */
  maxLength?: number
  /**
   * Runs the parser on `input` and checks what it promises: it returns or
   * throws its documented error, and formatting what it parsed round-trips.
   * Throws (any error) for a bug; returns normally otherwise.
   */
  check(input: Uint8Array): void | Promise<void>
}

/**
 * A broken property (e.g. a round trip that changed the value), as opposed to a crash.
 *
 * @example
 * throw new PropertyFailure('incomplete after 107 bytes')
 */
export class PropertyFailure extends Error {
  override name = 'PropertyFailure'
}

/** An error class a parser documents, e.g. `TypeError` or its own `ProtocolError`. */
export type ErrorClass = abstract new (...args: never[]) => Error

/**
 * Runs `parse` and swallows the errors it documents; anything else is a bug.
 * `message`, when given, must match too: it tells a parser's own TypeError
 * ("Cannot parse address …") from one the engine throws for a bug ("Cannot
 * read properties of undefined").
 *
 * @example
 * expectOnly(() => parseAddress(text), [TypeError, RangeError], /^Cannot parse address /)
 */
export function expectOnly<T>(
  parse: () => T,
  documented: readonly ErrorClass[],
  message?: RegExp,
): T | undefined {
  try {
    return parse()
  } catch (error) {
    if (isDocumented(error, documented, message)) return undefined
    throw error
  }
}

/**
 * The async form of `expectOnly`.
 *
 * @example
 * await expectOnlyAsync(() => acceptUpgrade(head), [HandshakeError])
 */
export async function expectOnlyAsync<T>(
  parse: () => Promise<T>,
  documented: readonly ErrorClass[],
  message?: RegExp,
): Promise<T | undefined> {
  try {
    return await parse()
  } catch (error) {
    if (isDocumented(error, documented, message)) return undefined
    throw error
  }
}

function isDocumented(error: unknown, documented: readonly ErrorClass[], message?: RegExp) {
  if (!documented.some((type) => error instanceof type)) return false
  return message === undefined || message.test((error as Error).message)
}

/**
 * Throws a PropertyFailure naming `what` unless `actual` and `expected` are
 * deeply equal (byte arrays by content; an `undefined` property is as absent).
 *
 * @example
 * checkEqual(parse(format(value)), value, 'round trip')
 */
export function checkEqual(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected)) {
    throw new PropertyFailure(`${what}: got ${show(actual)}, expected ${show(expected)}`)
  }
}

/**
 * Throws a PropertyFailure with `message` unless `ok`.
 *
 * @example
 * checkThat(result.consumed <= 107, `consumed ${result.consumed} bytes`)
 */
export function checkThat(ok: boolean, message: string): void {
  if (!ok) throw new PropertyFailure(message)
}

/**
 * Latin-1 text as bytes, one byte a character: for seeds and dictionaries.
 *
 * @example
 * bytes('PROXY UNKNOWN\r\n')
 */
export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff)
}

/**
 * Bytes as Latin-1 text, one character a byte.
 *
 * @example
 * latin1(Uint8Array.of(0x68, 0xe9)) // 'hé'
 */
export function latin1(input: Uint8Array): string {
  let text = ''
  for (const byte of input) text += String.fromCharCode(byte)
  return text
}

/**
 * Cuts `input` into chunks, as TCP may deliver it: the first byte picks the
 * chunk size (1 to 64), so a stream reader sees both byte-wise and bulk
 * feeding. Returns the chunks of the rest of the input.
 *
 * @example
 * for (const chunk of chunksOf(input)) reader.push(chunk)
 */
export function chunksOf(input: Uint8Array): Uint8Array[] {
  const size = ((input[0] ?? 0) % 64) + 1
  const chunks: Uint8Array[] = []
  for (let at = 1; at < input.length; at += size) chunks.push(input.subarray(at, at + size))
  return chunks
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, i) => byte === b[i])
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined)
  const keysB = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined)
  if (keysA.length !== keysB.length) return false
  return keysA.every((key) =>
    deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  )
}

function show(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v instanceof Uint8Array ? `<${[...v]}>` : v))
}
