/**
 * Loads a worker module and normalises the two handler forms, the module
 * form (`export default { connect, fetch }`) and the service-worker form
 * (`addEventListener('connect', …)`), into one `WorkerHandlers`. Returns a
 * result instead of throwing: a broken worker is the user's error, and the
 * caller decides how to show it.
 */
import { pathToFileURL } from 'node:url'
import type { Socket } from '@sockworker/sockets'
import type { WorkerContext } from '../worker/context.ts'
import { type ConnectEvent, workerEvents } from '../worker/events.ts'

export type Env = Record<string, unknown>

export interface WorkerHandlers {
  connect?: (socket: Socket, env: Env, ctx: WorkerContext) => unknown
  fetch?: (request: Request, env: Env, ctx: WorkerContext) => Response | Promise<Response>
}

export type LoadResult = { ok: true; handlers: WorkerHandlers } | { ok: false; error: string }

export async function loadWorker(file: string): Promise<LoadResult> {
  let module: { default?: unknown }
  try {
    module = await import(pathToFileURL(file).href)
  } catch (error) {
    return { ok: false, error: describeLoadError(error, file) }
  }
  const exported = module.default
  if (exported !== undefined && exported !== null && typeof exported === 'object') {
    const { connect, fetch } = exported as Record<string, unknown>
    if (typeof connect === 'function' || typeof fetch === 'function') {
      const handlers: WorkerHandlers = {}
      if (typeof connect === 'function')
        handlers.connect = connect.bind(exported) as WorkerHandlers['connect'] & {}
      if (typeof fetch === 'function')
        handlers.fetch = fetch.bind(exported) as WorkerHandlers['fetch'] & {}
      return { ok: true, handlers }
    }
  }
  if (workerEvents.has('connect') || workerEvents.has('fetch'))
    return { ok: true, handlers: eventHandlers() }
  return {
    ok: false,
    error: `${file} has no handler: write "export default { async connect(socket, env, ctx) { … } }" or call addEventListener('connect', (event) => { … })`,
  }
}

/** The service-worker form: the socket stays open until it closes itself, or `waitUntil` work ends. */
function eventHandlers(): WorkerHandlers {
  const handlers: WorkerHandlers = {
    connect: async (socket, env, ctx) => {
      const event: ConnectEvent = Object.assign(new Event('connect'), {
        socket,
        env,
        signal: ctx.signal,
        waitUntil: (promise: Promise<unknown>) => ctx.waitUntil(promise),
      })
      workerEvents.dispatch(event)
      await socket.closed.catch(() => {})
    },
  }
  return handlers
}

/** The first lines of the error, with the file and line where Node reports them. */
function describeLoadError(error: unknown, file: string): string {
  if (!(error instanceof Error)) return `Cannot load ${file}: ${String(error)}`
  const stack = (error.stack ?? error.message).split('\n')
  const where = stack.find((line) => line.includes('file://') || line.startsWith('/'))
  const head =
    error.stack?.startsWith(file) || error.stack?.includes(`${file}:`)
      ? stack.slice(0, 4)
      : [error.message]
  return [
    `Cannot load ${file}:`,
    ...head,
    ...(where && !head.includes(where) ? [where.trim()] : []),
  ].join('\n')
}
