/**
 * Redis' KEYS patterns: `*` any run, `?` one character, `[abc]`, `[a-z]`,
 * `[^a]` a set, `\x` a literal x. Compiled to an anchored RegExp.
 *
 * @example
 * globToRegExp('user:[12]*').test('user:10') // true
 */
export function globToRegExp(pattern: string): RegExp {
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? ''
    if (char === '*') source += '[\\s\\S]*'
    else if (char === '?') source += '[\\s\\S]'
    else if (char === '\\' && i + 1 < pattern.length) source += escapeChar(pattern[++i] ?? '')
    else if (char === '[') {
      const close = pattern.indexOf(']', i + 2)
      if (close < 0) {
        source += escapeChar(char)
        continue
      }
      let body = pattern.slice(i + 1, close)
      const negate = body.startsWith('^')
      if (negate) body = body.slice(1)
      // Inside a class only `\`, `]`, `^` and `-` mean something; keep ranges.
      const set = body.replace(/[\\\]^]/g, (c) => `\\${c}`)
      source += `[${negate ? '^' : ''}${set}]`
      i = close
    } else source += escapeChar(char)
  }
  return new RegExp(`^${source}$`)
}

/** The literal text a pattern's matches all start with, to narrow a scan. */
export function literalPrefix(pattern: string): string {
  const special = pattern.search(/[*?[\\]/)
  return special < 0 ? pattern : pattern.slice(0, special)
}

function escapeChar(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
