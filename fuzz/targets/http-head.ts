/**
 * The HTTP listener's request head: raw bytes go through Node's own HTTP
 * parser (a server fed an in-memory socket), and every request it accepts
 * goes through `toRequest`, which must give a Request or the TypeError it
 * documents, never anything else.
 */
import { createServer, type IncomingMessage } from 'node:http'
import { duplexPair, Readable } from 'node:stream'
import { toRequest } from '../../packages/sockworker/src/worker/request-head.ts'
import { bytes, checkEqual, expectOnly, type FuzzTarget } from '../engine/target.ts'

/** A TypeError that the language throws for a bug, not one `toRequest` documents. */
const NOT_AN_ENGINE_ERROR = /^(?!Cannot read|Cannot set|.* is not a function|.* is not iterable)/
let failure: unknown
const server = createServer((req: IncomingMessage, res) => {
  try {
    const body = () => Readable.toWeb(req) as ReadableStream<Uint8Array>
    const request = expectOnly(() => toRequest(req, body), [TypeError], NOT_AN_ENGINE_ERROR)
    if (request !== undefined) checkTarget(req.url ?? '/', new URL(request.url))
  } catch (error) {
    failure ??= error
  }
  res.destroy()
})
/**
 * The Request's path and query come from the request target alone: an
 * absolute-form target is the URL; the Host header names the host and
 * nothing else.
 */
function checkTarget(target: string, url: URL): void {
  // An origin-form target is a path: "//x" is not a host there, as it would be in new URL(t, base).
  const expected = new URL(ABSOLUTE.test(target) ? target : `http://h.invalid${target}`)
  checkEqual(`${url.pathname}${url.search}`, `${expected.pathname}${expected.search}`, 'path')
  if (ABSOLUTE.test(target)) checkEqual(url.host, expected.host, 'host of an absolute-form target')
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i
server.on('clientError', (_error, socket) => socket.destroy())

const target: FuzzTarget = {
  seeds: [
    'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n',
    'POST /submit?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 3\r\nX-A: 1\r\nX-A: 2\r\n\r\nabc',
    'HEAD http://other.example/abs HTTP/1.0\r\n\r\n',
    'OPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n',
    'PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  ].map(bytes),
  dictionary: [
    'Host: ',
    'http://',
    '?',
    '\r\n',
    'CONNECT',
    'TRACE',
    '@',
    '#',
    '%',
    '\\',
    '//',
    '\u00e9',
    '\t',
  ].map(bytes),
  maxLength: 1024,
  async check(input) {
    failure = undefined
    const [client, socket] = duplexPair()
    const closed = new Promise((resolve) => socket.once('close', resolve))
    server.emit('connection', socket)
    client.on('error', () => {})
    client.resume()
    client.end(input)
    await closed
    if (failure !== undefined) throw failure
  },
}
export default target
