/**
 * The HTTP listener's request head → `Request`: what Node's parser made of
 * the client's bytes, turned into the platform's `Request` for the worker's
 * `fetch` handler. Separate from the server so that it can be fuzzed.
 */
import type { IncomingHttpHeaders } from 'node:http'

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
 * @throws TypeError when the head cannot make a Request (an invalid URL from
 *   the Host header, say): the client's mistake, answered with 400.
 * @example
 * const request = toRequest(req, () => Readable.toWeb(req) as ReadableStream<Uint8Array>)
 */
export function toRequest(head: RequestHead, body: () => ReadableStream<Uint8Array>): Request {
  const host = head.headers.host ?? 'localhost'
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
  return new Request(`http://${host}${head.url ?? '/'}`, init)
}
