/**
 * How long a close waits for the peer to acknowledge our streams' last
 * bytes before it sends CONNECTION_CLOSE anyway (`QuicheConnection.close()`).
 *
 * A peer that acknowledges at all does so within a few round trips, so the
 * grace matters only for one that has stopped: it bounds how long a
 * handler's return, or a drain, holds such a connection. It is a wall-clock
 * cap rather than a multiple of the RTT because the RTT estimate is taken
 * when the process keeps up: on a loaded host (a replica busy in its
 * handlers, a CI machine) acknowledgements arrive late by far more than the
 * path's RTT, and a grace of a few RTTs would reset replies that the peer
 * was about to acknowledge. Under the idle timeout, though: quiche would
 * end a silent connection at `idleTimeout` as timed out, so the grace ends
 * at half of it, and our close, with its code and reason, goes first.
 */
import type { QuicParams } from '../../../quic/platform.ts'

/** The cap: long enough for many retransmissions at loopback and LAN RTTs, short for a drain. */
export const maxCloseGrace = 3000

/**
 * @example
 * setTimeout(sendClose, closeGrace({ ...params, idleTimeout: 1000 })) // 500 ms
 */
export function closeGrace(params: Pick<QuicParams, 'idleTimeout'>): number {
  const idle = params.idleTimeout
  return idle > 0 ? Math.min(maxCloseGrace, idle / 2) : maxCloseGrace
}
