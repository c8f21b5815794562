/**
 * RESP2, the Redis protocol: a request reader that takes TCP chunks as they
 * come (a command may span chunks, a chunk may hold many commands), and
 * reply encoders. Requests are arrays of bulk strings (`*2\r\n$3\r\nGET\r\n
 * $1\r\nk\r\n`) or inline lines (`PING\r\n`, as typed into telnet).
 */

/** Malformed input: Redis replies `-ERR Protocol error: …` and closes. */
export class ProtocolError extends Error {}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const CR = 13
const LF = 10
/** Redis' limits: header lines and inline requests, array length, bulk length. */
const MAX_LINE = 64 * 1024
const MAX_ARGS = 1024 * 1024
const MAX_BULK = 512 * 1024 * 1024

/**
 * Buffers bytes and hands out whole commands.
 *
 * @example
 * const reader = new RespReader()
 * reader.push(chunk)
 * for (let args = reader.next(); args; args = reader.next()) run(args)
 */
export class RespReader {
  #buffer = new Uint8Array(0)
  #start = 0
  #end = 0
  /**
   * A multibulk command whose arguments have partly arrived. Parsing resumes
   * here: starting over from the command's first byte on every chunk made a
   * command with many arguments cost time quadratic in its size.
   */
  #progress: Progress | undefined

  push(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buffer.length) this.#grow(chunk.length)
    this.#buffer.set(chunk, this.#end)
    this.#end += chunk.length
  }

  /** The next command's arguments, or `undefined` until more bytes arrive. Throws ProtocolError. */
  next(): Uint8Array[] | undefined {
    const buffer = this.#buffer.subarray(0, this.#end)
    while (this.#start < buffer.length) {
      const parsed =
        this.#progress !== undefined || buffer[this.#start] === 42 /* '*' */
          ? parseArray(buffer, this.#start, this.#progress)
          : parseInline(buffer, this.#start)
      if (parsed === undefined) return undefined
      if (!('end' in parsed)) {
        this.#progress = parsed
        return undefined
      }
      this.#progress = undefined
      this.#start = parsed.end
      // Empty lines and `*0` are skipped, as Redis does.
      const args = parsed.args.length > 0 ? parsed.args : undefined
      if (this.#start === this.#end) {
        // Drained: the next chunk goes to the front (the args are copies).
        this.#start = this.#end = 0
        return args
      }
      if (args) return args
    }
    return undefined
  }

  /**
   * Moves the unread bytes to the front of a buffer twice the size they and
   * `more` need: appending then costs amortised constant time per byte,
   * where copying everything on every chunk was quadratic for a large value.
   */
  #grow(more: number): void {
    const unread = this.#end - this.#start
    const next = new Uint8Array(Math.max(4096, 2 * (unread + more)))
    next.set(this.#buffer.subarray(this.#start, this.#end))
    if (this.#progress !== undefined) this.#progress.at -= this.#start
    this.#buffer = next
    this.#start = 0
    this.#end = unread
  }
}

interface Parsed {
  args: Uint8Array[]
  end: number
}

/** A multibulk command in progress: `count` arguments, those read so far, and where the next starts. */
interface Progress {
  count: number
  args: Uint8Array[]
  at: number
}

/** `*<n>\r\n` then n times `$<len>\r\n<bytes>\r\n`; resumes from `progress` when given. */
function parseArray(
  buffer: Uint8Array,
  start: number,
  progress: Progress | undefined,
): Parsed | Progress | undefined {
  let state = progress
  if (state === undefined) {
    const header = readLength(buffer, start, 'too big mbulk count string')
    if (!header) return undefined
    if (header.value === undefined || header.value > MAX_ARGS) {
      throw new ProtocolError('invalid multibulk length')
    }
    state = { count: header.value, args: [], at: header.end }
  }
  const { count, args } = state
  while (args.length < count) {
    const at = state.at
    if (at >= buffer.length) return state
    if (buffer[at] !== 36 /* '$' */) {
      throw new ProtocolError(`expected '$', got '${String.fromCharCode(buffer[at] ?? 0)}'`)
    }
    const line = readLength(buffer, at, 'too big bulk count string')
    if (!line) return state
    const length = line.value
    if (length === undefined || length > MAX_BULK) throw new ProtocolError('invalid bulk length')
    // The value, then its CRLF (Redis skips those two bytes unread).
    if (buffer.length < line.end + length + 2) return state
    args.push(buffer.slice(line.end, line.end + length))
    state.at = line.end + length + 2
  }
  return { args, end: state.at }
}

/** A line of words separated by spaces, ended by LF (CR optional). */
function parseInline(buffer: Uint8Array, start: number): Parsed | undefined {
  const newline = buffer.indexOf(LF, start)
  if (newline < 0) {
    if (buffer.length - start > MAX_LINE) throw new ProtocolError('too big inline request')
    return undefined
  }
  const text = decoder.decode(buffer.subarray(start, newline)).replace(/\r$/, '')
  const words = text.split(/[ \t]+/).filter((word) => word !== '')
  return { args: words.map((word) => encoder.encode(word)), end: newline + 1 }
}

/**
 * A CRLF-terminated header line from `start` (`*3`, `$5`), its length read
 * from the bytes with no string made: a non-negative decimal of at most 10
 * digits, `-1` (a null array) as 0, or `value` undefined if it is neither.
 * Undefined if the line has not all arrived yet.
 */
function readLength(
  buffer: Uint8Array,
  start: number,
  tooBig: string,
): { value: number | undefined; end: number } | undefined {
  const cr = buffer.indexOf(CR, start)
  if (cr < 0 || cr + 1 >= buffer.length) {
    if (buffer.length - start > MAX_LINE) throw new ProtocolError(tooBig)
    return undefined
  }
  if (buffer[cr + 1] !== LF) throw new ProtocolError('expected CRLF after a length')
  const end = cr + 2
  const digits = cr - start - 1
  if (digits === 2 && buffer[start + 1] === 45 /* '-' */ && buffer[start + 2] === 49 /* '1' */) {
    return { value: 0, end }
  }
  if (digits < 1 || digits > 10) return { value: undefined, end }
  let value = 0
  for (let i = start + 1; i < cr; i++) {
    const digit = (buffer[i] ?? 0) - 48
    if (digit < 0 || digit > 9) return { value: undefined, end }
    value = value * 10 + digit
  }
  return { value, end }
}

// Replies. Each returns the encoded bytes, ready to write.

/** `+OK` style status. */
export const simple = (text: string): Uint8Array => encoder.encode(`+${oneLine(text)}\r\n`)
/** `-ERR …`; `text` includes the code (ERR, WRONGTYPE…). */
export const error = (text: string): Uint8Array => encoder.encode(`-${oneLine(text)}\r\n`)
export const integer = (n: number | bigint): Uint8Array => encoder.encode(`:${n}\r\n`)

/** A bulk string, or the null bulk (`$-1`) for `null`. */
export function bulk(value: Uint8Array | string | null): Uint8Array {
  if (value === null) return NULL_BULK
  const bytes = typeof value === 'string' ? encoder.encode(value) : value
  const header = `$${bytes.length}\r\n` // ASCII: one byte per character
  const out = new Uint8Array(header.length + bytes.length + 2)
  encoder.encodeInto(header, out)
  out.set(bytes, header.length)
  out[out.length - 2] = CR
  out[out.length - 1] = LF
  return out
}

const NULL_BULK = encoder.encode('$-1\r\n')

/** An array of already-encoded replies. */
export function array(items: Uint8Array[]): Uint8Array {
  return concat([encoder.encode(`*${items.length}\r\n`), ...items])
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** Status and error lines must not break the framing. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ')
}
