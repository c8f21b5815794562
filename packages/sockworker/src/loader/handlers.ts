/**
 * The contract between a worker and the runtime: what a handler receives.
 * It sits in the loader, the lowest layer that needs it, so that the loader
 * (which normalises both handler forms into `WorkerHandlers`) and the
 * replica's dispatch above it share one definition.
 */
import type { Socket } from '@sockworker/sockets'

/** A worker's `env`: vars, secrets and bindings. */
export type Env = Record<string, unknown>

/**
 * The `ctx` a handler gets: `waitUntil()` to keep work alive after the
 * handler returns, and `signal`, which aborts when the replica shuts down.
 */
export interface WorkerContext {
  waitUntil(promise: Promise<unknown>): void
  readonly signal: AbortSignal
}

/**
 * A worker's handlers, as the module form exports them.
 *
 * @example
 * export default {
 *   async connect(socket, env, ctx) { await socket.readable.pipeTo(socket.writable) },
 * } satisfies WorkerHandlers
 */
export interface WorkerHandlers {
  connect?: (socket: Socket, env: Env, ctx: WorkerContext) => unknown
  fetch?: (request: Request, env: Env, ctx: WorkerContext) => Response | Promise<Response>
}

/** The event of the service-worker form: `addEventListener('connect', (event) => …)`. */
export interface ConnectEvent extends Event {
  socket: Socket
  env: Env
  signal: AbortSignal
  waitUntil(promise: Promise<unknown>): void
}

/** The event of the service-worker form's `addEventListener('fetch', (event) => …)`. */
export interface FetchEvent extends Event {
  request: Request
  env: Env
  signal: AbortSignal
  waitUntil(promise: Promise<unknown>): void
  respondWith(response: Response | PromiseLike<Response>): void
  passThroughOnException(): void
}
