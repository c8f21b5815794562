/**
 * The state `/healthz` reports, for a load balancer's health check (HAProxy
 * `option httpchk`) and Kubernetes' readiness and liveness probes.
 *
 * - `ready` (200): every worker has at least one replica serving.
 * - `draining` (503): SIGTERM arrived. The instance still serves what it has,
 *   and for `drain_delay_ms` still accepts, so that the balancer stops
 *   sending new connections before the listeners close.
 * - `failing` (503): some worker has no replica serving (all crashed, still
 *   restarting, or failing to load and backing off), or the instance has not
 *   started yet.
 *
 * Draining wins over failing: a balancer should take the instance out
 * either way, and an operator reading the body wants to know it is going.
 */

export type HealthState = 'ready' | 'draining' | 'failing'

/** What the supervisor knows, reduced to what the health state depends on. */
export interface HealthInput {
  /** Whether `start()` has finished. */
  started: boolean
  /** Whether a drain (SIGTERM, SIGINT) has begun. */
  draining: boolean
  /** Each worker's name and the number of its replicas serving now (loaded and accepting). */
  workers: ReadonlyArray<{ worker: string; replicas: number }>
}

export interface Health {
  state: HealthState
  /** 200 for `ready`, 503 otherwise. */
  status: 200 | 503
  /** One line: the state, then why, e.g. "failing: worker mqtt has no replica serving". */
  body: string
}

/**
 * @example
 * const { status, body } = healthOf({ started: true, draining: false, workers: [{ worker: 'kv', replicas: 2 }] })
 * // 200, "ready\n"
 */
export function healthOf(input: HealthInput): Health {
  if (input.draining) return { state: 'draining', status: 503, body: 'draining\n' }
  if (!input.started) return { state: 'failing', status: 503, body: 'failing: starting\n' }
  const down = input.workers.filter((w) => w.replicas === 0).map((w) => w.worker)
  if (down.length > 0) {
    const which = down.length === 1 ? `worker ${down[0]} has` : `workers ${down.join(', ')} have`
    return { state: 'failing', status: 503, body: `failing: ${which} no replica serving\n` }
  }
  return { state: 'ready', status: 200, body: 'ready\n' }
}
