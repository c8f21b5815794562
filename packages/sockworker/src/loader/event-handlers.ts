/**
 * The service-worker form, `addEventListener('connect' | 'fetch', …)`,
 * turned into the handlers the module form exports. Only the events a
 * worker listens for become handlers, so a worker with only a `fetch`
 * listener does not claim TCP connections it would never answer.
 *
 * `fetch` follows Cloudflare Workers' `FetchEvent`:
 * - `respondWith()` must be called while the event is dispatched, once;
 * - `waitUntil()` keeps work alive after the response;
 * - `passThroughOnException()` is accepted, but there is no origin behind a
 *   sockworker listener to pass the request to, so an exception still
 *   answers 500. The first call logs that once.
 */
import type { Socket } from '@sockworker/sockets'
import type { ConnectEvent, Env, FetchEvent, WorkerContext, WorkerHandlers } from './handlers.ts'
import { workerEvents } from './worker-events.ts'

export function eventHandlers(): WorkerHandlers {
  const handlers: WorkerHandlers = {}
  if (workerEvents.has('connect')) handlers.connect = dispatchConnect
  if (workerEvents.has('fetch')) handlers.fetch = dispatchFetch
  return handlers
}

/** The socket stays open until it closes itself, or `waitUntil` work ends. */
async function dispatchConnect(socket: Socket, env: Env, ctx: WorkerContext): Promise<void> {
  const event: ConnectEvent = Object.assign(new Event('connect'), {
    socket,
    env,
    signal: ctx.signal,
    waitUntil: (promise: Promise<unknown>) => ctx.waitUntil(promise),
  })
  workerEvents.dispatch(event)
  await socket.closed.catch(() => {})
}

let warnedPassThrough = false

function dispatchFetch(request: Request, env: Env, ctx: WorkerContext): Promise<Response> {
  let response: Promise<Response> | undefined
  let dispatching = true
  const event: FetchEvent = Object.assign(new Event('fetch', { cancelable: true }), {
    request,
    env,
    signal: ctx.signal,
    waitUntil: (promise: Promise<unknown>) => ctx.waitUntil(promise),
    respondWith(answer: Response | PromiseLike<Response>) {
      if (!dispatching) {
        throw new DOMException(
          'respondWith() must be called while the fetch event is dispatched, not later (call it synchronously in the listener, with a promise if the response is not ready)',
          'InvalidStateError',
        )
      }
      if (response !== undefined) {
        throw new DOMException(
          'respondWith() was already called for this request',
          'InvalidStateError',
        )
      }
      response = Promise.resolve(answer)
    },
    passThroughOnException() {
      if (warnedPassThrough) return
      warnedPassThrough = true
      console.warn(
        'passThroughOnException(): sockworker has no origin behind the listener, so an exception in the fetch listener still answers 500',
      )
    },
  })
  try {
    workerEvents.dispatch(event)
  } finally {
    dispatching = false
  }
  return (
    response ??
    Promise.reject(
      new Error(
        'No fetch listener called event.respondWith(): call it with a Response (or a promise of one)',
      ),
    )
  )
}
