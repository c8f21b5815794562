/**
 * Host names as rules compare them: lower case, without the trailing dot of a
 * fully qualified name. DNS names are case-insensitive, and `db.example.com.`
 * is the same host as `db.example.com`.
 */

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

/**
 * Lower-cases a host name and drops one trailing dot.
 *
 * @example
 * normalizeName('DB.Example.COM.') // 'db.example.com'
 */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase()
  return lower.endsWith('.') ? lower.slice(0, -1) : lower
}

/**
 * Says why a normalized name is not a valid rule name, or returns undefined.
 * A name whose last label is numeric is refused: it is a mistyped address
 * (`10.0.0`), and no top-level domain is all digits (RFC 3696 §2).
 *
 * @example
 * validateName('db.internal') // undefined
 * validateName('10.0.0') // '"10.0.0" is not a valid IP address or host name'
 */
export function validateName(name: string): string | undefined {
  if (name.includes('*')) {
    return `"${name}" has a "*" that is not the whole first label; a wildcard is written "*.example.com"`
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
  if (/[^\x00-\x7f]/.test(name)) {
    return `"${name}" is not ASCII; write an internationalized name in punycode (xn--…)`
  }
  const labels = name.split('.')
  const last = labels[labels.length - 1] ?? ''
  if (/^(?:\d+|0x[0-9a-f]*)$/.test(last)) return `"${name}" is not a valid IP address or host name`
  if (name.length > 253 || !labels.every((label) => LABEL.test(label))) {
    return `"${name}" is not a valid host name: use letters, digits, "-" and "_", in dot-separated labels of 1 to 63 characters`
  }
  return undefined
}

/**
 * True when `name` is a subdomain of `suffix`, at any depth. The apex itself
 * does not match: `*.example.com` is about the hosts under it.
 *
 * @example
 * isSubdomain('a.b.example.com', 'example.com') // true
 * isSubdomain('example.com', 'example.com') // false
 */
export function isSubdomain(name: string, suffix: string): boolean {
  return name.length > suffix.length + 1 && name.endsWith(`.${suffix}`)
}
