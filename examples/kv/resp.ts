/**
 * RESP2, the Redis protocol: a request reader that takes TCP chunks as they
 * come (a command may span chunks, a chunk may hold many commands), and
 * reply encoders. Requests are arrays of bulk strings (`*2\r\n$3\r\nGET\r\n
 * $1\r\nk\r\n`) or inline lines (`PING\r\n`, as typed into telnet).
 */

/** Malformed input: Redis replies `-ERR Protocol error: …` and closes. */
export class ProtocolError extends Error {}

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

  push(chunk: Uint8Array): void {
    const rest = this.#buffer.subarray(this.#start)
    const joined = new Uint8Array(rest.length + chunk.length)
    joined.set(rest)
    joined.set(chunk, rest.length)
    this.#buffer = joined
    this.#start = 0
  }

  /** The next command's arguments, or `undefined` until more bytes arrive. Throws ProtocolError. */
  next(): Uint8Array[] | undefined {
    while (this.#start < this.#buffer.length) {
      const parsed =
        this.#buffer[this.#start] === 42 /* '*' */
          ? parseArray(this.#buffer, this.#start)
          : parseInline(this.#buffer, this.#start)
      if (!parsed) return undefined
      this.#start = parsed.end
      // Empty lines and `*0` are skipped, as Redis does.
      if (parsed.args.length > 0) return parsed.args
    }
    return undefined
  }
}

interface Parsed {
  args: Uint8Array[]
  end: number
}

/** `*<n>\r\n` then n times `$<len>\r\n<bytes>\r\n`. */
function parseArray(buffer: Uint8Array, start: number): Parsed | undefined {
  const header = readLine(buffer, start, 'too big mbulk count string')
  if (!header) return undefined
  const count = parseLength(header.text.slice(1))
  if (count === undefined || count > MAX_ARGS) {
    throw new ProtocolError('invalid multibulk length')
  }
  const args: Uint8Array[] = []
  let at = header.end
  for (let i = 0; i < count; i++) {
    if (at >= buffer.length) return undefined
    if (buffer[at] !== 36 /* '$' */) {
      throw new ProtocolError(`expected '$', got '${String.fromCharCode(buffer[at] ?? 0)}'`)
    }
    const line = readLine(buffer, at, 'too big bulk count string')
    if (!line) return undefined
    const length = parseLength(line.text.slice(1))
    if (length === undefined || length > MAX_BULK) throw new ProtocolError('invalid bulk length')
    // The value, then its CRLF (Redis skips those two bytes unread).
    if (buffer.length < line.end + length + 2) return undefined
    args.push(buffer.slice(line.end, line.end + length))
    at = line.end + length + 2
  }
  return { args, end: at }
}

/** A line of words separated by spaces, ended by LF (CR optional). */
function parseInline(buffer: Uint8Array, start: number): Parsed | undefined {
  const newline = buffer.indexOf(LF, start)
  if (newline < 0) {
    if (buffer.length - start > MAX_LINE) throw new ProtocolError('too big inline request')
    return undefined
  }
  const text = new TextDecoder().decode(buffer.subarray(start, newline)).replace(/\r$/, '')
  const words = text.split(/[ \t]+/).filter((word) => word !== '')
  const encoder = new TextEncoder()
  return { args: words.map((word) => encoder.encode(word)), end: newline + 1 }
}

/** A CRLF-terminated header line from `start`, or undefined if not all here yet. */
function readLine(
  buffer: Uint8Array,
  start: number,
  tooBig: string,
): { text: string; end: number } | undefined {
  const cr = buffer.indexOf(CR, start)
  if (cr < 0 || cr + 1 >= buffer.length) {
    if (buffer.length - start > MAX_LINE) throw new ProtocolError(tooBig)
    return undefined
  }
  if (buffer[cr + 1] !== LF) throw new ProtocolError('expected CRLF after a length')
  return { text: new TextDecoder().decode(buffer.subarray(start, cr)), end: cr + 2 }
}

/** A non-negative decimal, or undefined. `*-1` (a null array) counts as 0. */
function parseLength(text: string): number | undefined {
  if (text === '-1') return 0
  return /^\d{1,10}$/.test(text) ? Number(text) : undefined
}

// Replies. Each returns the encoded bytes, ready to write.
const encoder = new TextEncoder()

/** `+OK` style status. */
export const simple = (text: string): Uint8Array => encoder.encode(`+${oneLine(text)}\r\n`)
/** `-ERR …`; `text` includes the code (ERR, WRONGTYPE…). */
export const error = (text: string): Uint8Array => encoder.encode(`-${oneLine(text)}\r\n`)
export const integer = (n: number | bigint): Uint8Array => encoder.encode(`:${n}\r\n`)

/** A bulk string, or the null bulk (`$-1`) for `null`. */
export function bulk(value: Uint8Array | string | null): Uint8Array {
  if (value === null) return encoder.encode('$-1\r\n')
  const bytes = typeof value === 'string' ? encoder.encode(value) : value
  return concat([encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode('\r\n')])
}

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
