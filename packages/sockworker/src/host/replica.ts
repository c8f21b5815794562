/**
 * One replica: a child process running one worker. It reports `ready` once
 * the worker's code loaded and every listener accepts, and is killed when
 * its event loop stops answering for longer than the worker's CPU limit.
 */
import { type ChildProcess, fork } from 'node:child_process'
import type { LogConfig, WorkerConfig } from '../config/types.ts'
import { isBlocked, watchdogInterval } from '../heartbeat.ts'
import type { HostMessage, ReplicaMessage } from '../ipc.ts'
import { ownModule } from '../loader/module-url.ts'
import { emptySnapshot, type MetricsSnapshot } from '../observe/metrics.ts'
import type { BoundHandle } from './bind.ts'
import { sandboxFor } from './sandbox.ts'

const workerMain = ownModule('../worker/main.ts', import.meta.url)

export type ExitReason = 'crash' | 'cpu' | 'drained' | 'load-error'

export interface ReplicaOptions {
  worker: WorkerConfig
  index: number
  generation: number
  log: LogConfig
  /** One per listener of the worker, in order; `undefined` for UDP. */
  handles: Array<BoundHandle | undefined>
  onExit(reason: ExitReason, detail: string): void
}

export class Replica {
  readonly index: number
  readonly ready: Promise<void>
  #child: ChildProcess
  #options: ReplicaOptions
  #lastBeat = Date.now()
  #watchdog: ReturnType<typeof setInterval> | undefined
  #reason: ExitReason = 'crash'
  #detail = ''
  #snapshot: MetricsSnapshot = emptySnapshot()
  #serving = false

  constructor(options: ReplicaOptions) {
    this.index = options.index
    this.#options = options
    const { worker } = options
    const { execArgv, ...sandbox } = sandboxFor(worker)
    this.#child = fork(workerMain, [], {
      execArgv: [
        `--max-old-space-size=${worker.limits.memoryMb}`,
        '--disable-warning=ExperimentalWarning',
        ...execArgv,
        ...resolutionConditions(),
        ...extraNodeFlags(),
      ],
      ...sandbox,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const ready = Promise.withResolvers<void>()
    this.ready = ready.promise
    this.ready.then(
      () => (this.#serving = true),
      () => {},
    )
    let listening = 0
    this.#child.on('message', (message: ReplicaMessage) => {
      switch (message.type) {
        case 'loaded':
          this.#startWatchdog()
          return this.#sendListeners()
        case 'listening':
          if (++listening === worker.listeners.length) ready.resolve()
          return
        case 'listen-error':
          ready.reject(new Error(message.message))
          return this.kill('crash', message.message)
        case 'load-error':
          this.#reason = 'load-error'
          this.#detail = message.message
          return ready.reject(new Error(message.message))
        case 'heartbeat':
          this.#lastBeat = Date.now()
          return
        case 'metrics':
          this.#snapshot = message.snapshot
          return
        case 'drained':
          this.#reason = 'drained'
          return
      }
    })
    this.#child.on('exit', (code, signal) => {
      clearInterval(this.#watchdog)
      const detail = this.#detail || (signal ? `killed by ${signal}` : `exited with code ${code}`)
      ready.reject(new Error(detail))
      options.onExit(this.#reason, detail)
    })
    this.#send({
      type: 'init',
      worker,
      replica: options.index,
      generation: options.generation,
      log: options.log,
    })
  }

  /** Whether it loaded, accepts on every listener, and has not exited. */
  get serving(): boolean {
    return this.#serving && this.#child.exitCode === null && this.#child.signalCode === null
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** The replica's last reported figures. */
  get snapshot(): MetricsSnapshot {
    return this.#snapshot
  }

  /** Stops accepting, lets connections finish for up to `deadlineMs`, then exits. */
  drain(deadlineMs: number): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) return resolve()
      this.#child.once('exit', () => resolve())
    })
    this.#send({ type: 'drain', deadlineMs })
    const force = setTimeout(
      () => this.kill('drained', 'did not exit after draining'),
      deadlineMs + 3000,
    )
    return exited.finally(() => clearTimeout(force))
  }

  kill(reason: ExitReason, detail: string): void {
    this.#reason = reason
    this.#detail = detail
    this.#child.kill('SIGKILL')
  }

  #sendListeners(): void {
    this.#options.worker.listeners.forEach((listener, index) => {
      const handle = this.#options.handles[index]?.handle
      this.#send({ type: 'listen', index, listener }, handle)
    })
  }

  /** A blocked event loop sends no heartbeats; past the CPU limit the replica is killed. */
  #startWatchdog(): void {
    const limit = this.#options.worker.limits.cpuMs
    this.#lastBeat = Date.now()
    this.#watchdog = setInterval(() => {
      if (isBlocked(this.#lastBeat, Date.now(), limit))
        this.kill('cpu', `event loop blocked for over ${limit} ms (limits.cpu_ms)`)
    }, watchdogInterval(limit))
    this.#watchdog.unref()
  }

  #send(message: HostMessage, handle?: object): void {
    if (!this.#child.connected) return
    this.#child.send(message, handle as never, {}, () => {})
  }
}

/**
 * The supervisor's `--conditions`, which a replica must share to resolve
 * packages the same way. Inside this repository that is
 * `sockworker-source` (from .npmrc's node-options), and the sandbox gives a
 * replica no NODE_OPTIONS.
 */
function resolutionConditions(): string[] {
  const flags = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)]
  const conditions: string[] = []
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i] ?? ''
    const inline = /^(?:--conditions|-C)=(.+)$/.exec(flag)
    if (inline?.[1] !== undefined) conditions.push(inline[1])
    else if ((flag === '--conditions' || flag === '-C') && flags[i + 1])
      conditions.push(flags[++i] ?? '')
  }
  return conditions.map((condition) => `--conditions=${condition}`)
}

/**
 * `SOCKWORKER_REPLICA_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` passes
 * Node flags to every replica: for profiling and debugging (`--inspect=0`).
 * Node refuses several such flags in NODE_OPTIONS, hence a variable of ours.
 */
function extraNodeFlags(): string[] {
  return (process.env['SOCKWORKER_REPLICA_FLAGS'] ?? '').split(/\s+/).filter(Boolean)
}
