/**
 * The HTTP listener: Node's server in front of the worker's `fetch`
 * handler, with `Request` and `Response` from the platform.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { Env, WorkerHandlers } from '../loader/handlers.ts'
import type { Logger } from '../observe/log.ts'
import type { WorkerMetrics } from '../observe/metrics.ts'
import { createContext } from './context.ts'

export interface FetchServing {
  handlers: WorkerHandlers
  env: Env
  log: Logger
  metrics: WorkerMetrics
  shutdown: AbortSignal
}

export function createFetchServer(serving: FetchServing): Server {
  return createServer((req, res) => {
    void respond(serving, req, res)
  })
}

async function respond(
  serving: FetchServing,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { handlers, env, log, metrics, shutdown } = serving
  const started = performance.now()
  metrics.opened()
  const { ctx, settled } = createContext(shutdown)
  let bytesOut = 0
  try {
    if (handlers.fetch === undefined) throw new Error('The worker has no fetch handler')
    const response = await handlers.fetch(toRequest(req), env, ctx)
    if (!(response instanceof Response))
      throw new TypeError('The fetch handler must return a Response')
    res.writeHead(response.status, response.statusText, [...response.headers].flat())
    if (response.body) {
      for await (const chunk of response.body) {
        bytesOut += chunk.byteLength
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve))
      }
    }
    res.end()
  } catch (error) {
    metrics.handlerError()
    log.error('fetch handler failed', {
      error: error instanceof Error ? (error.stack ?? error) : error,
    })
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
    res.end('Internal Server Error\n')
  }
  await settled()
  metrics.closed(
    { bytesReceived: req.socket.bytesRead, bytesSent: bytesOut },
    (performance.now() - started) / 1000,
  )
}

function toRequest(req: IncomingMessage): Request {
  const host = req.headers.host ?? 'localhost'
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v)
    else if (value !== undefined) headers.set(name, value)
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method: req.method ?? 'GET', headers }
  if (hasBody) {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>
    init.duplex = 'half'
  }
  return new Request(`http://${host}${req.url ?? '/'}`, init)
}
