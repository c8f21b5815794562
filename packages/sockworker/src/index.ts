/**
 * `sockworker`: the types a worker author needs. The runtime itself is the
 * `sockworker` command; this entry has no code, so importing it for types
 * costs nothing at run time.
 *
 * @example
 * import type { WorkerHandlers } from 'sockworker'
 *
 * export default {
 *   async connect(socket, env, ctx) { await socket.readable.pipeTo(socket.writable) },
 * } satisfies WorkerHandlers
 */
export type {
  ConnectEvent,
  Env,
  FetchEvent,
  WorkerContext,
  WorkerHandlers,
} from './loader/handlers.ts'
