/**
 * What a replica's listeners share: the worker's config, the dispatcher that
 * runs its handlers, the HTTP front for `fetch`, and the log. Its own module
 * so that each kind of listener (`serve-listener.ts`, `serve-quic.ts`) takes
 * it without importing the other.
 */
import type { WorkerConfig } from '../config/types.ts'
import type { Logger } from '../observe/log.ts'
import type { WorkerMetrics } from '../observe/metrics.ts'
import type { Admission } from './admission.ts'
import type { Dispatcher } from './dispatch.ts'
import type { FetchServing } from './http.ts'

export interface ListenerDeps {
  worker: WorkerConfig
  dispatcher: Dispatcher
  fetch: FetchServing
  log: Logger
  metrics: WorkerMetrics
  /** `max_connections`, shared by all of the replica's listeners. */
  admission: Admission
}
