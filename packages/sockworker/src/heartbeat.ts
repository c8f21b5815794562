/**
 * The CPU watchdog's timing, shared by both ends: a replica sends a
 * heartbeat every `cpu_ms / 4` (at most every 250 ms); the supervisor checks
 * often and kills a replica silent for longer than `cpu_ms`. A blocked event
 * loop sends nothing, which is what the watchdog detects.
 */

/**
 * How often a replica sends a heartbeat: often enough that a healthy
 * replica is never mistaken for a blocked one.
 *
 * @example
 * setInterval(beat, heartbeatInterval(worker.limits.cpuMs))
 */
export function heartbeatInterval(cpuMs: number): number {
  return Math.max(10, Math.min(250, Math.floor(cpuMs / 4)))
}

/**
 * How often the supervisor looks at a replica's last heartbeat.
 *
 * @example
 * setInterval(check, watchdogInterval(worker.limits.cpuMs))
 */
export function watchdogInterval(cpuMs: number): number {
  return Math.max(10, Math.min(100, cpuMs / 4))
}

/**
 * True when a replica has been silent for longer than `cpuMs`.
 *
 * @example
 * if (isBlocked(lastBeat, Date.now(), cpuMs)) replica.kill('cpu', '…')
 */
export function isBlocked(lastBeatMs: number, nowMs: number, cpuMs: number): boolean {
  return nowMs - lastBeatMs > cpuMs
}
