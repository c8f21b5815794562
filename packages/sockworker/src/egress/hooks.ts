/**
 * What the egress guard reports to the replica. Its own module so that each
 * guard (TCP, UDP, raw handles, DNS servers) can take it without importing
 * the installer that wires them together.
 */

/** The guard's callbacks, for logs and metrics. */
export interface EgressHooks {
  /** Called with the reason for each denial: for logs and metrics. */
  onDeny(reason: string): void
}
