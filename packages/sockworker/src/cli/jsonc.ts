/**
 * JSON with comments and trailing commas, as `wrangler.jsonc` allows. The
 * comments and trailing commas are blanked out (outside strings), so that
 * `JSON.parse` reports errors at the right offsets.
 */

/**
 * Parses JSONC text.
 *
 * @example
 * parseJsonc('{ "main": "src/index.ts", // the entry\n }') // { main: 'src/index.ts' }
 */
export function parseJsonc(text: string): unknown {
  return JSON.parse(stripTrailingCommas(stripComments(text)))
}

function stripComments(text: string): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === '"') {
      const end = stringEnd(text, i)
      out += text.slice(i, end)
      i = end - 1
    } else if (char === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i)
      const stop = end === -1 ? text.length : end
      out += ' '.repeat(stop - i)
      i = stop - 1
    } else if (char === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end === -1 ? text.length : end + 2
      out += text.slice(i, stop).replace(/[^\n]/g, ' ')
      i = stop - 1
    } else {
      out += char
    }
  }
  return out
}

/** A comma followed only by whitespace and then `}` or `]`. */
function stripTrailingCommas(text: string): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === '"') {
      const end = stringEnd(text, i)
      out += text.slice(i, end)
      i = end - 1
    } else if (char === ',' && closesNext(text, i + 1)) {
      out += ' '
    } else {
      out += char
    }
  }
  return out
}

function closesNext(text: string, from: number): boolean {
  let i = from
  while (i < text.length && /\s/.test(text[i] ?? '')) i++
  return text[i] === '}' || text[i] === ']'
}

/** The index just past the string literal that opens at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === '"') return i + 1
  }
  return text.length
}
