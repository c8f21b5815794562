/**
 * The entry point of a replica process. The supervisor forks it, sends
 * `init` (which worker, which limits), then one `listen` per listener with
 * the shared handle, and finally `drain` to stop it gracefully.
 *
 * Order matters on `init`: the egress guard, module hooks and globals are in
 * place before the worker's own code runs, so it cannot get around them.
 */

import { installTunnelRoutes, loadQuicEngine } from '@sockworker/sockets/node'
import { installEgressGuard } from '../egress/enforce.ts'
import { heartbeatInterval } from '../heartbeat.ts'
import type { HostMessage, ReplicaMessage } from '../ipc.ts'
import type { Env, WorkerHandlers } from '../loader/handlers.ts'
import { installModuleHooks } from '../loader/hooks.ts'
import { loadWorker } from '../loader/load-worker.ts'
import { createLogger, type Logger } from '../observe/log.ts'
import { WorkerMetrics } from '../observe/metrics.ts'
import { Admission } from './admission.ts'
import { createDispatcher, type Dispatcher } from './dispatch.ts'
import { installGlobals } from './globals.ts'
import { lockDown } from './lockdown.ts'
import { serveListener } from './serve-listener.ts'

const send = (message: ReplicaMessage) => process.send?.(message)
/** Resolves once the message has left, for the last words before exiting. */
const sendNow = (message: ReplicaMessage) =>
  new Promise<void>((resolve) => {
    if (process.send === undefined) return resolve()
    process.send(message, undefined, {}, () => resolve())
  })
const shutdown = new AbortController()
const metrics = new WorkerMetrics()
const stops: Array<() => void> = []
let log: Logger = createLogger({ format: 'json', level: 'info' })
let state:
  | {
      handlers: WorkerHandlers
      dispatcher: Dispatcher
      admission: Admission
      init: Extract<HostMessage, { type: 'init' }>
      env: Env
    }
  | undefined

process.on('message', (message: HostMessage, handle: unknown) => {
  if (message.type === 'init') void init(message)
  else if (message.type === 'listen') void startListener(message, handle)
  else if (message.type === 'drain') void drain(message.deadlineMs)
})

// A throw outside any handler leaves the process in an unknown state: log it
// and exit, and the supervisor starts a fresh replica.
process.on('uncaughtException', (error) => {
  log.error('uncaught exception; the replica restarts', { error: error.stack ?? error })
  process.exit(70)
})
process.on('unhandledRejection', (reason) => {
  log.warn('unhandled promise rejection', {
    error: reason instanceof Error ? (reason.stack ?? reason) : reason,
  })
})
// The supervisor going away means nobody will drain us.
process.on('disconnect', () => process.exit(0))

async function init(message: Extract<HostMessage, { type: 'init' }>): Promise<void> {
  const { worker, replica, log: settings } = message
  log = createLogger(settings, { worker: worker.name, replica })
  // The one way past the guard, kept here and given only to the storage bindings.
  const { runtimeSocket } = installEgressGuard(worker.egress, {
    onDeny: (reason) => {
      metrics.egressDenied()
      log.warn('egress denied', { reason })
    },
  })
  installTunnelRoutes(
    Object.fromEntries(
      worker.tunnels.map(({ target, url, token }) => [
        target,
        token === undefined ? { url } : { url, token },
      ]),
    ),
  )
  installModuleHooks()
  installGlobals(worker.compatibility)
  // Storage opens before the lockdown, which closes node:sqlite to the worker.
  // The storage modules (six, and node:sqlite) load only for a worker that has bindings.
  const bindings =
    Object.keys(worker.storage).length === 0
      ? {}
      : (await import('../storage/bindings.ts')).openBindings(worker.storage, {
          socket: runtimeSocket,
        })
  const env: Env = { ...worker.vars, ...worker.secrets, ...bindings }
  if (worker.sandbox !== undefined) {
    // QUIC's engine is native code of the runtime's: loaded before the
    // lockdown closes process.dlopen to the worker.
    const quic =
      worker.sandbox.allow.includes('quic') ||
      worker.listeners.some((listener) => listener.type === 'quic')
    if (quic) loadQuicEngine()
    lockDown({ allow: worker.sandbox.allow })
  }
  // The runtime's own modules load before the worker's code does, as the
  // static imports above do: node:http too, when a listener needs it (it is
  // left out otherwise, which saves a replica about 16 MB and 100 ms).
  if (worker.listeners.some((listener) => listener.type === 'http')) await import('./http.ts')
  const loaded = await loadWorker(worker.script)
  if (!loaded.ok) {
    await sendNow({ type: 'load-error', message: loaded.error })
    process.exit(78)
  }
  const dispatcher = createDispatcher({
    handlers: loaded.handlers,
    env,
    log,
    metrics,
    shutdown: shutdown.signal,
  })
  const admission = new Admission(worker.limits.maxConnections, () => dispatcher.connections, {
    metrics,
    log,
  })
  state = { handlers: loaded.handlers, dispatcher, admission, init: message, env }
  setInterval(() => send({ type: 'heartbeat' }), heartbeatInterval(worker.limits.cpuMs)).unref()
  setInterval(() => send({ type: 'metrics', snapshot: metrics.snapshot() }), 1000).unref()
  send({ type: 'loaded' })
}

async function startListener(message: Extract<HostMessage, { type: 'listen' }>, handle: unknown) {
  if (state === undefined) return
  const { handlers, dispatcher, admission, init, env } = state
  try {
    const stop = await serveListener(message.listener, handle, {
      worker: init.worker,
      dispatcher,
      fetch: { handlers, env, log, metrics, shutdown: shutdown.signal },
      log,
      metrics,
      admission,
    })
    stops.push(stop)
    send({ type: 'listening', index: message.index })
  } catch (error) {
    send({
      type: 'listen-error',
      index: message.index,
      message: error instanceof Error ? error.message : String(error),
    })
  }
}

/** Stops accepting, lets open connections finish until the deadline, then exits. */
async function drain(deadlineMs: number): Promise<void> {
  for (const stop of stops.splice(0)) stop()
  const idle = state?.dispatcher.idle() ?? Promise.resolve()
  const deadline = new Promise((resolve) => setTimeout(resolve, deadlineMs).unref())
  await Promise.race([idle, deadline])
  shutdown.abort(new DOMException('The worker is shutting down', 'AbortError'))
  await Promise.race([idle, new Promise((resolve) => setTimeout(resolve, 1000).unref())])
  await sendNow({ type: 'metrics', snapshot: metrics.snapshot() })
  await sendNow({ type: 'drained' })
  process.exit(0)
}
