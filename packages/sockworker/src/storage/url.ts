/**
 * Storage URLs: which backend a URL selects, and how to show one without
 * its password.
 */

/** The backend each URL scheme selects. */
export const STORAGE_SCHEMES: Readonly<Record<string, 'redis' | 'postgres'>> = {
  'redis:': 'redis',
  'rediss:': 'redis',
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
}

/**
 * The backend for `url`, or `undefined` for another scheme or a non-URL.
 *
 * @example
 * backendOf('postgresql://db/app') // 'postgres'
 */
export function backendOf(url: string): 'redis' | 'postgres' | undefined {
  try {
    return STORAGE_SCHEMES[new URL(url).protocol]
  } catch {
    return undefined
  }
}

/**
 * A URL for messages and logs: the password replaced by `***`.
 *
 * @example
 * redactUrl('postgres://app:s3cret@db/app') // 'postgres://app:***@db/app'
 */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@')
}
