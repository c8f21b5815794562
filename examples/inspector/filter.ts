/**
 * The inspector's pattern matching and log previews, kept apart from the
 * socket plumbing so that each reads on its own.
 */

/** How many earlier bytes a regex pattern may look back across chunk boundaries. */
const regexWindow = 1024

/**
 * A pattern from `env.BLOCK`: `/source/flags` is a regular expression,
 * anything else a literal string.
 *
 * @example
 * parsePattern('/flush(all|db)/i') // /flush(all|db)/i
 * parsePattern('FLUSHALL')         // matches the literal text FLUSHALL
 */
export function parsePattern(text: string): { regex: RegExp; window: number } {
  const literal = /^\/(.+)\/([a-z]*)$/s.exec(text)
  if (literal) {
    const [, source = '', flags = ''] = literal
    try {
      return { regex: new RegExp(source, flags.replace('g', '')), window: regexWindow }
    } catch (error) {
      throw new Error(`BLOCK "${text}" is not a valid regular expression: ${String(error)}`)
    }
  }
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  // A literal of n bytes spans at most n - 1 bytes of the previous chunk.
  return { regex: new RegExp(escaped), window: Math.max(text.length - 1, 0) }
}

/**
 * Looks for a pattern in a byte stream that arrives in chunks: it keeps the
 * last `window` bytes seen, so a match split across two chunks is found.
 *
 * @example
 * const matcher = new StreamMatcher(parsePattern('FLUSHALL'))
 * matcher.push(bytes('*1\r\n$8\r\nFLUSH')) // undefined
 * matcher.push(bytes('ALL\r\n'))           // 'FLUSHALL'
 */
export class StreamMatcher {
  #regex: RegExp
  #window: number
  #tail = ''
  // latin1 maps every byte to one character, so lengths are byte counts.
  #decoder = new TextDecoder('latin1')

  constructor(pattern: { regex: RegExp; window: number }) {
    this.#regex = pattern.regex
    this.#window = pattern.window
  }

  /** Returns the matched text, or undefined when the stream so far has no match. */
  push(chunk: Uint8Array): string | undefined {
    const text = this.#tail + this.#decoder.decode(chunk)
    const match = this.#regex.exec(text)
    if (match) return match[0]
    this.#tail = this.#window === 0 ? '' : text.slice(-this.#window)
    return undefined
  }
}

/**
 * A short printable preview of a chunk for the log: printable ASCII as is,
 * CR and LF escaped, other bytes as dots, cut at `max` characters.
 *
 * @example
 * preview(new TextEncoder().encode('+OK\r\n')) // '+OK\\r\\n'
 */
export function preview(chunk: Uint8Array, max = 48): string {
  let out = ''
  for (const byte of chunk.subarray(0, max)) {
    if (byte === 13) out += '\\r'
    else if (byte === 10) out += '\\n'
    else out += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.'
  }
  return chunk.length > max ? `${out}…` : out
}
