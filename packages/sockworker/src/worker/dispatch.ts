/**
 * Runs the connect handler for one socket: its context, its log lines, its
 * figures, and the close that follows when the handler is done.
 */
import type { Socket } from '@sockworker/sockets'
import type { Env, WorkerHandlers } from '../loader/handlers.ts'
import type { Logger } from '../observe/log.ts'
import type { WorkerMetrics } from '../observe/metrics.ts'
import { createContext } from './context.ts'

export interface Dispatcher {
  /** Runs the handler for `socket`; `flow` marks a UDP flow, which `max_flows` caps instead. */
  connect(socket: Socket, listener: string, kind?: { flow: boolean }): void
  /** Settles when no connection is open. */
  idle(): Promise<void>
  /** Handlers running: connections and UDP flows. */
  readonly active: number
  /** Handlers running for connections, not UDP flows: what `max_connections` counts. */
  readonly connections: number
}

export interface DispatchOptions {
  handlers: WorkerHandlers
  env: Env
  log: Logger
  metrics: WorkerMetrics
  /** Aborts when the replica shuts down; each `ctx.signal` follows it. */
  shutdown: AbortSignal
}

export function createDispatcher(options: DispatchOptions): Dispatcher {
  const { handlers, env, log, metrics, shutdown } = options
  const open = new Set<Promise<void>>()
  // Connection ids: this process's id, then a counter. Unique per replica
  // lifetime, and far cheaper than random bytes on every accept.
  const prefix = `${process.pid.toString(36)}-`
  let counter = 0
  const run = async (socket: Socket, listener: string) => {
    const connect = handlers.connect
    const connLog = log.child({ conn: prefix + (counter++).toString(36) })
    const debug = connLog.enabled('debug')
    const started = performance.now()
    metrics.opened()
    if (debug) {
      const { remoteAddress, remotePort } = socket.info
      connLog.debug('open', { listener, peer: `${remoteAddress}:${remotePort}` })
    }
    const { ctx, settled } = createContext(shutdown)
    try {
      if (connect === undefined) throw new Error('The worker has no connect handler')
      await connect(socket, env, ctx)
    } catch (error) {
      metrics.handlerError()
      connLog.error('handler failed', {
        error: error instanceof Error ? (error.stack ?? error) : error,
      })
    }
    await settled()
    await socket.close().catch(() => {})
    const seconds = (performance.now() - started) / 1000
    metrics.closed(socket.stats, seconds)
    if (debug) connLog.debug('close', { seconds: Number(seconds.toFixed(3)), ...socket.stats })
  }
  let flows = 0
  return {
    connect(socket, listener, kind) {
      const flow = kind?.flow === true
      if (flow) flows++
      const done = run(socket, listener)
      open.add(done)
      done.finally(() => {
        open.delete(done)
        if (flow) flows--
      })
    },
    async idle() {
      while (open.size > 0) await Promise.allSettled(open)
    },
    get active() {
      return open.size
    },
    get connections() {
      return open.size - flows
    },
  }
}
