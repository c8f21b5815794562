/**
 * The overload limits of the HTTP listener: its connections count against
 * `max_connections`, and a request head must arrive within
 * `header_timeout_ms` (a slowloris sends one header byte at a time). Node's
 * HTTP server enforces the head's deadline itself (`headersTimeout`); this
 * sets it, counts what it cuts off, and answers as Node would by default.
 */
import type { Server, ServerOptions } from 'node:http'
import type { Socket as NetSocket } from 'node:net'
import type { WorkerMetrics } from '../observe/metrics.ts'
import type { Admission } from './admission.ts'

/** Node's own default for a whole request; the head's deadline may not exceed it. */
const REQUEST_TIMEOUT_MS = 300_000

/**
 * The server options that put `headerTimeoutMs` on each request head.
 *
 * @example
 * createServer(httpTimeouts(10_000), handler)
 */
export function httpTimeouts(headerTimeoutMs: number): ServerOptions {
  return {
    headersTimeout: headerTimeoutMs,
    requestTimeout: Math.max(REQUEST_TIMEOUT_MS, headerTimeoutMs),
    // Node checks the deadlines on a timer (30 s by default), so a 10 s
    // limit would hold for up to 40 s: check four times per limit instead.
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, headerTimeoutMs / 4)),
  }
}

/**
 * Counts `server`'s connections in `admission`, closing those past
 * `max_connections`, and counts request heads that time out.
 *
 * @example
 * guardHttp(server, { admission, metrics })
 */
export function guardHttp(
  server: Server,
  { admission, metrics }: { admission: Admission; metrics: WorkerMetrics },
): void {
  // Sockets with a request whose head has arrived: a timeout on one of them
  // is the whole request's (`requestTimeout`), not the head's.
  const inRequest = new WeakSet<NetSocket>()
  server.on('connection', (socket: NetSocket) => {
    const release = admission.hold('held')
    if (release === undefined) return void socket.destroy()
    socket.once('close', release)
  })
  server.on('request', (req, res) => {
    inRequest.add(req.socket)
    res.once('close', () => inRequest.delete(req.socket))
  })
  // With a listener here, Node leaves the answer to us: the same as its default.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: NetSocket) => {
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    if (timedOut && !inRequest.has(socket)) metrics.headerTimedOut()
    const sent = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
    if (socket.writable && sent !== true) socket.write(errorResponse(error.code, timedOut))
    socket.destroy(error)
  })
}

function errorResponse(code: string | undefined, timedOut: boolean): string {
  const status = timedOut
    ? '408 Request Timeout'
    : code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? '413 Payload Too Large'
        : '400 Bad Request'
  return `HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`
}
