/**
 * The messages between the supervisor and a replica process. Listening
 * handles travel with `listen` messages, so that every replica accepts from
 * the same kernel queue and a reload never drops a queued connection.
 */
import type { ListenerConfig, LogConfig, WorkerConfig } from './config/types.ts'
import type { MetricsSnapshot } from './observe/metrics.ts'

export type HostMessage =
  | { type: 'init'; worker: WorkerConfig; replica: number; generation: number; log: LogConfig }
  | { type: 'listen'; index: number; listener: ListenerConfig }
  | { type: 'drain'; deadlineMs: number }

export type ReplicaMessage =
  | { type: 'loaded' }
  | { type: 'load-error'; message: string }
  | { type: 'listening'; index: number }
  | { type: 'listen-error'; index: number; message: string }
  | { type: 'heartbeat' }
  | { type: 'metrics'; snapshot: MetricsSnapshot }
  | { type: 'drained' }
