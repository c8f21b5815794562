/**
 * Runs the connect handler for one socket: its context, its log lines, its
 * figures, and the close that follows when the handler is done.
 */
import { randomBytes } from 'node:crypto'
import type { Socket } from '@sockworker/sockets'
import type { Env, WorkerHandlers } from '../loader/load-worker.ts'
import type { Logger } from '../observe/log.ts'
import type { WorkerMetrics } from '../observe/metrics.ts'
import { createContext } from './context.ts'

export interface Dispatcher {
  connect(socket: Socket, listener: string): void
  /** Settles when no connection is open. */
  idle(): Promise<void>
  readonly active: number
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
  const run = async (socket: Socket, listener: string) => {
    const connect = handlers.connect
    const id = randomBytes(4).toString('hex')
    const { remoteAddress, remotePort } = socket.info
    const connLog = log.child({ conn: id })
    const started = performance.now()
    metrics.opened()
    connLog.debug('open', { listener, peer: `${remoteAddress}:${remotePort}` })
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
    connLog.debug('close', { seconds: Number(seconds.toFixed(3)), ...socket.stats })
  }
  return {
    connect(socket, listener) {
      const done = run(socket, listener)
      open.add(done)
      done.finally(() => open.delete(done))
    },
    async idle() {
      while (open.size > 0) await Promise.allSettled(open)
    },
    get active() {
      return open.size
    },
  }
}
