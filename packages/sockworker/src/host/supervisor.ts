/**
 * The supervisor: binds the listeners, runs each worker's replicas, serves
 * /metrics and /healthz, and reloads or drains on request. The data path never passes
 * through it: replicas accept connections themselves.
 */
import type { Server } from 'node:http'
import type { ListenerConfig, ResolvedConfig, WorkerConfig } from '../config/types.ts'
import { type Health, healthOf } from '../observe/health.ts'
import type { Logger } from '../observe/log.ts'
import { prometheusText } from '../observe/metrics.ts'
import { type BoundHandle, bindTcp, freeUdpPort } from './bind.ts'
import { udpPortProblem } from './sandbox.ts'
import { WorkerGroup } from './worker-group.ts'

export interface SupervisorOptions {
  log: Logger
  /** Called once per listener when its worker is ready, as "tcp 127.0.0.1:7000". */
  onReady(listener: string, worker?: string): void
}

const key = (l: ListenerConfig) => `${l.type} ${l.hostname}:${l.port}`

export class Supervisor {
  #config: ResolvedConfig
  readonly #options: SupervisorOptions
  readonly #groups = new Map<string, WorkerGroup>()
  readonly #handles = new Map<string, BoundHandle>()
  /** The ports given to listeners configured with port 0, so that a reload keeps them. */
  readonly #assignedPorts = new Map<string, number>()
  #metrics: Server | undefined
  #reloading: Promise<void> = Promise.resolve()
  #started = false
  #draining = false

  constructor(config: ResolvedConfig, options: SupervisorOptions) {
    this.#config = config
    this.#options = options
  }

  /**
   * Binds every listener, then starts every worker at once and the metrics
   * endpoint. Rejects (and cleans up) if any fails. Binding comes first and
   * in order, so that a port in use is reported before any replica starts;
   * the workers then start side by side, because a replica's start is
   * mostly its own module loading, and one after another `npm start`'s
   * eleven replicas took 15 s on a loaded machine.
   */
  async start(): Promise<void> {
    try {
      const groups: Array<{ worker: WorkerConfig; group: WorkerGroup }> = []
      for (const configured of this.#config.workers) {
        const { worker, handles } = await this.#bind(configured)
        const group = new WorkerGroup(worker, handles, this.#options.log, this.#config.log)
        this.#groups.set(worker.name, group)
        groups.push({ worker, group })
      }
      const started = await Promise.allSettled(
        groups.map(async ({ worker, group }) => {
          await group.start()
          for (const listener of worker.listeners) this.#options.onReady(key(listener), worker.name)
        }),
      )
      const failed = started.find((result) => result.status === 'rejected')
      if (failed !== undefined) throw failed.reason
      this.#started = true
      await this.#startMetrics()
    } catch (error) {
      await this.stop()
      throw error
    }
  }

  /** Applies a new config: new generations for every worker, then drains the old ones. */
  reload(config: ResolvedConfig): Promise<void> {
    this.#reloading = this.#reloading.then(() => this.#reload(config))
    return this.#reloading
  }

  /**
   * The graceful end of an instance: `/healthz` says `draining` at once, the
   * listeners keep accepting for the config's `drain.delayMs` so that the
   * balancer stops routing here first, then every worker drains and stops.
   */
  async drain(): Promise<void> {
    this.#draining = true
    const delayMs = this.#config.drain.delayMs
    if (delayMs > 0) {
      this.#options.log.info('draining: still accepting while balancers notice', { ms: delayMs })
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
    await this.stop()
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#groups.values()].map((group) => group.stop()))
    this.#groups.clear()
    for (const handle of this.#handles.values()) handle.close()
    this.#handles.clear()
    this.#metrics?.close()
    this.#metrics?.closeAllConnections()
  }

  health(): Health {
    const workers = [...this.#groups].map(([worker, group]) => ({
      worker,
      replicas: group.serving(),
    }))
    return healthOf({ started: this.#started, draining: this.#draining, workers })
  }

  metricsText(): string {
    return prometheusText([...this.#groups.values()].map((group) => group.figures()))
  }

  async #reload(config: ResolvedConfig): Promise<void> {
    const log = this.#options.log
    const names = new Set(config.workers.map((w) => w.name))
    for (const configured of config.workers) {
      const { worker, handles } = await this.#bind(configured)
      const group = this.#groups.get(worker.name)
      try {
        if (group) await group.reload(worker, handles)
        else {
          const fresh = new WorkerGroup(worker, handles, log, config.log)
          await fresh.start()
          this.#groups.set(worker.name, fresh)
        }
        log.info('reloaded', { worker: worker.name })
      } catch (error) {
        log.error('reload failed; the previous version keeps serving', {
          worker: worker.name,
          error,
        })
      }
    }
    for (const [name, group] of this.#groups) {
      if (names.has(name)) continue
      await group.stop()
      this.#groups.delete(name)
    }
    this.#config = config
    this.#closeUnusedHandles()
  }

  /**
   * Binds what the worker's listeners need, and returns the worker with
   * each port 0 replaced by the port the system gave, so that replicas,
   * logs and ready lines all see the real one. A port-0 listener keeps its
   * port across reloads: it is remembered by worker, position and type.
   */
  async #bind(
    worker: WorkerConfig,
  ): Promise<{ worker: WorkerConfig; handles: Array<BoundHandle | undefined> }> {
    const handles: Array<BoundHandle | undefined> = []
    const listeners: ListenerConfig[] = []
    for (const [index, configured] of worker.listeners.entries()) {
      let listener = configured
      if (listener.port === 0) {
        const slot = `${worker.name}#${index} ${listener.type} ${listener.hostname}`
        const port = this.#assignedPorts.get(slot)
        if (port !== undefined) listener = { ...listener, port }
      }
      if (listener.type === 'udp' || listener.type === 'quic') {
        // Both bind their own sockets in each replica (SO_REUSEPORT).
        const problem = udpPortProblem(worker, listener)
        if (problem !== undefined) throw new Error(problem)
        if (listener.port === 0)
          listener = { ...listener, port: await freeUdpPort(listener.hostname) }
        handles.push(undefined)
      } else {
        let bound = listener.port === 0 ? undefined : this.#handles.get(key(listener))
        if (bound === undefined) bound = await bindTcp(listener.hostname, listener.port)
        listener = { ...listener, port: bound.port }
        this.#handles.set(key(listener), bound)
        handles.push(bound)
      }
      if (configured.port === 0) {
        this.#assignedPorts.set(
          `${worker.name}#${index} ${listener.type} ${listener.hostname}`,
          listener.port,
        )
      }
      listeners.push(listener)
    }
    return { worker: { ...worker, listeners }, handles }
  }

  #closeUnusedHandles(): void {
    const used = new Set([...this.#groups.values()].flatMap((g) => g.config.listeners.map(key)))
    for (const [id, handle] of this.#handles) {
      if (used.has(id)) continue
      handle.close()
      this.#handles.delete(id)
    }
  }

  async #startMetrics(): Promise<void> {
    const settings = this.#config.metrics
    if (settings === undefined) return
    // Only with a metrics endpoint: node:http costs about 16 MB and 100 ms to load.
    const { createServer } = await import('node:http')
    const server = createServer((req, res) => {
      const path = req.url?.split('?')[0]
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.metricsText())
      } else if (path === '/healthz') {
        const { status, body } = this.health()
        res.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store' })
        res.end(req.method === 'HEAD' ? undefined : body)
      } else {
        res.writeHead(404).end('Not found: metrics are at /metrics, health at /healthz\n')
      }
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(settings.port, settings.hostname, () => resolve())
    })
    this.#metrics = server
    this.#options.onReady(
      `metrics http://${settings.hostname}:${(server.address() as { port: number }).port}/metrics`,
    )
  }
}
