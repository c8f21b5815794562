/**
 * The HTTP listener's request head → `Request`: what Node's parser made of
 * the client's bytes, turned into the platform's `Request` for the worker's
 * `fetch` handler. Separate from the server so that it can be fuzzed.
 */
import type { IncomingHttpHeaders } from 'node:http'

/**
 * Characters that end a URL's authority: in a Host header they would move
 * the rest of it into the path the worker sees ("evil/admin?" + "/x" reads
 * as "/admin"). Found by fuzzing; RFC 9110 section 7.2 allows none of them.
 */
const NOT_IN_HOST = /[/?#\\@\s]/
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\//i

/** The parts of an `IncomingMessage` that make a Request's head. */
export interface RequestHead {
  method?: string | undefined
  url?: string | undefined
  headers: IncomingHttpHeaders
}

/**
 * Builds the `Request` for `head`, with `body()` as its body unless the
 * method is GET or HEAD.
 *
 * @throws TypeError when the head cannot make a Request (a Host header or a
 *   request target that makes no URL, `OPTIONS *`, a forbidden method): the
 *   client's mistake, answered with 400.
 * @example
 * const request = toRequest(req, () => Readable.toWeb(req) as ReadableStream<Uint8Array>)
 */
export function toRequest(head: RequestHead, body: () => ReadableStream<Uint8Array>): Request {
  // RFC 9112 section 3.2: an empty Host is what a client sends when it has no host to name.
  const host = head.headers.host || 'localhost'
  if (NOT_IN_HOST.test(host)) {
    throw new TypeError(`Invalid Host header ${JSON.stringify(host)}: expected host[:port]`)
  }
  const headers = new Headers()
  for (const [name, value] of Object.entries(head.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v)
    else if (value !== undefined) headers.set(name, value)
  }
  const hasBody = head.method !== 'GET' && head.method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method: head.method ?? 'GET', headers }
  if (hasBody) {
    init.body = body()
    init.duplex = 'half'
  }
  return new Request(urlOf(head.url ?? '/', host), init)
}

/**
 * RFC 9112 section 3.2: an origin-form target ("/path?query") goes after the
 * host; an absolute-form one (as sent to a proxy) is the URL. Anything else
 * (`OPTIONS *`, "x/y") would be glued onto the host name.
 */
function urlOf(target: string, host: string): string {
  if (target.startsWith('/')) return `http://${host}${target}`
  if (ABSOLUTE_FORM.test(target)) return target
  throw new TypeError(
    `Invalid request target ${JSON.stringify(target)}: expected "/path" or an absolute URL`,
  )
}
