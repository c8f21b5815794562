/**
 * The HTTP listener: Node's server in front of the worker's `fetch`
 * handler, with `Request` and `Response` from the platform.
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http'
import { Readable } from 'node:stream'
import type { Env, WorkerHandlers } from '../loader/handlers.ts'
import type { Logger } from '../observe/log.ts'
import type { WorkerMetrics } from '../observe/metrics.ts'
import { createContext } from './context.ts'
import { toRequest } from './request-head.ts'

export interface FetchServing {
  handlers: WorkerHandlers
  env: Env
  log: Logger
  metrics: WorkerMetrics
  shutdown: AbortSignal
}

export function createFetchServer(serving: FetchServing, options: ServerOptions = {}): Server {
  return createServer(options, (req, res) => {
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
    const request = requestOf(req)
    if (typeof request === 'string') {
      // The client's mistake (found by fuzzing: `OPTIONS *`, a Host with "@"):
      // 400, and the handler is not to blame.
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end(`Bad Request: ${request}\n`)
    } else {
      await serve(handlers.fetch, request, env, ctx, res, (bytes) => {
        bytesOut += bytes
      })
    }
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

/** The Request for `req`, or why its head makes none. */
function requestOf(req: IncomingMessage): Request | string {
  try {
    return toRequest(req, () => Readable.toWeb(req) as ReadableStream<Uint8Array>)
  } catch (error) {
    if (error instanceof TypeError) return error.message
    throw error
  }
}

async function serve(
  fetch: WorkerHandlers['fetch'],
  request: Request,
  env: Env,
  ctx: ReturnType<typeof createContext>['ctx'],
  res: ServerResponse,
  sent: (bytes: number) => void,
): Promise<void> {
  if (fetch === undefined) throw new Error('The worker has no fetch handler')
  const response = await fetch(request, env, ctx)
  if (!(response instanceof Response)) {
    throw new TypeError('The fetch handler must return a Response')
  }
  res.writeHead(response.status, response.statusText, [...response.headers].flat())
  if (response.body) {
    for await (const chunk of response.body) {
      sent(chunk.byteLength)
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve))
    }
  }
  res.end()
}
