/**
 * The replicas of one worker. A replica that crashes, outgrows its memory
 * or blocks its event loop is replaced, with a backoff that starts small
 * (a crashed worker is back well within a second) and grows while the
 * crashes keep coming. A reload starts a new generation next to the old
 * one and drains the old one only once the new one is ready.
 */
import type { LogConfig, WorkerConfig } from '../config/types.ts'
import type { Logger } from '../observe/log.ts'
import {
  addSnapshots,
  emptySnapshot,
  type MetricsSnapshot,
  type WorkerFigures,
} from '../observe/metrics.ts'
import type { BoundHandle } from './bind.ts'
import { type ExitReason, Replica } from './replica.ts'
import { RestartBackoff } from './restart-backoff.ts'
import { prepareStorage } from './sandbox.ts'

interface Slot {
  replica: Replica | undefined
  backoff: RestartBackoff
  startedAt: number
  timer: ReturnType<typeof setTimeout> | undefined
}

export class WorkerGroup {
  #config: WorkerConfig
  #handles: Array<BoundHandle | undefined>
  readonly #log: Logger
  readonly #logSettings: LogConfig
  #slots: Slot[] = []
  #generation = 0
  #restarts = 0
  #retired: MetricsSnapshot = emptySnapshot()
  #stopping = false

  constructor(
    config: WorkerConfig,
    handles: Array<BoundHandle | undefined>,
    log: Logger,
    logSettings: LogConfig,
  ) {
    this.#config = config
    this.#handles = handles
    this.#log = log.child({ worker: config.name })
    this.#logSettings = logSettings
  }

  get config(): WorkerConfig {
    return this.#config
  }

  /** Starts every replica; rejects with the worker's load error if it does not start. */
  async start(): Promise<void> {
    prepareStorage(this.#config)
    this.#slots = this.#spawnGeneration()
    await this.#allReady(this.#slots)
  }

  /**
   * Starts a new generation with `config`, then drains the old one. If the
   * new one fails to start, it is stopped and the old one keeps serving.
   */
  async reload(config: WorkerConfig, handles: Array<BoundHandle | undefined>): Promise<void> {
    prepareStorage(config)
    const previous = { config: this.#config, handles: this.#handles, slots: this.#slots }
    this.#config = config
    this.#handles = handles
    const next = this.#spawnGeneration()
    try {
      await this.#allReady(next)
    } catch (error) {
      for (const slot of next) this.#retire(slot)
      this.#config = previous.config
      this.#handles = previous.handles
      throw error
    }
    this.#slots = next
    await Promise.all(
      previous.slots.map((slot) => this.#drainSlot(slot, config.limits.drainTimeoutMs)),
    )
  }

  /** Drains every replica and lets none restart. */
  async stop(): Promise<void> {
    this.#stopping = true
    await Promise.all(
      this.#slots.map((slot) => this.#drainSlot(slot, this.#config.limits.drainTimeoutMs)),
    )
  }

  figures(): WorkerFigures {
    let snapshot = this.#retired
    let replicas = 0
    for (const slot of this.#slots) {
      if (slot.replica === undefined) continue
      replicas++
      snapshot = addSnapshots(snapshot, slot.replica.snapshot)
    }
    return { worker: this.#config.name, snapshot, restarts: this.#restarts, replicas }
  }

  /** Replicas that have loaded and accept connections now (a starting one does not count). */
  serving(): number {
    return this.#slots.filter((slot) => slot.replica?.serving === true).length
  }

  #spawnGeneration(): Slot[] {
    this.#generation++
    return Array.from({ length: this.#config.replicas }, (_, index) => {
      const slot: Slot = {
        replica: undefined,
        backoff: new RestartBackoff(),
        startedAt: 0,
        timer: undefined,
      }
      this.#spawn(slot, index, this.#generation)
      return slot
    })
  }

  #spawn(slot: Slot, index: number, generation: number): void {
    slot.startedAt = Date.now()
    const replica: Replica = new Replica({
      worker: this.#config,
      index,
      generation,
      log: this.#logSettings,
      handles: this.#handles,
      onExit: (reason, detail) => this.#exited(slot, replica, index, generation, reason, detail),
    })
    slot.replica = replica
    this.#log.info('replica started', { replica: index, pid: replica.pid, generation })
  }

  #exited(
    slot: Slot,
    replica: Replica,
    index: number,
    generation: number,
    reason: ExitReason,
    detail: string,
  ) {
    this.#retired = addSnapshots(this.#retired, {
      ...replica.snapshot,
      connectionsActive: 0,
      handshakesPending: 0,
    })
    if (slot.replica !== replica) return
    slot.replica = undefined
    if (reason === 'drained' || this.#stopping || !this.#slots.includes(slot)) return
    const fields = { replica: index, pid: replica.pid, reason, detail }
    if (reason === 'load-error') this.#log.error('replica failed to load', fields)
    else this.#log.warn('replica exited; restarting', fields)
    slot.timer = setTimeout(
      () => {
        this.#restarts++
        this.#spawn(slot, index, generation)
      },
      slot.backoff.next(Date.now() - slot.startedAt),
    )
  }

  async #allReady(slots: Slot[]): Promise<void> {
    await Promise.all(slots.map((slot) => slot.replica?.ready))
  }

  #retire(slot: Slot): void {
    clearTimeout(slot.timer)
    const replica = slot.replica
    slot.replica = undefined
    replica?.kill('drained', 'retired')
  }

  async #drainSlot(slot: Slot, deadlineMs: number): Promise<void> {
    clearTimeout(slot.timer)
    const replica = slot.replica
    if (replica === undefined) return
    await replica.drain(deadlineMs)
  }
}
