/**
 * Per-worker figures. Each replica keeps a `WorkerMetrics` and sends its
 * snapshot to the supervisor, which adds up the replicas of a worker and
 * serves the sum in Prometheus's text format.
 */
import type { QuicStats } from '@sockworker/sockets'

/** Upper bounds, in seconds, of the handler-duration histogram. */
export const durationBuckets = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60, 300] as const

export interface MetricsSnapshot {
  connectionsActive: number
  connectionsTotal: number
  bytesIn: number
  bytesOut: number
  handlerErrors: number
  egressDenials: number
  /** Connections closed at once because `max_connections` was reached. */
  connectionsRefused: number
  /** TLS handshakes that took longer than `handshake_timeout_ms`. */
  handshakeTimeouts: number
  /** PROXY headers and HTTP request heads that took longer than `header_timeout_ms`. */
  headerTimeouts: number
  /** Datagrams discarded because they would have opened a UDP flow past `max_flows`. */
  udpFlowsDropped: number
  /** Datagrams discarded because they would have opened UDP flows faster than `new_flows_per_second`. */
  udpFlowsRateLimited: number
  /** Connections accepted but still in their PROXY header or TLS handshake (a gauge). */
  handshakesPending: number
  /** QUIC streams by who opened them and kind, summed from closed connections' `stats`. */
  quicStreams: QuicStreamCounts
  quicDatagramsReceived: number
  quicDatagramsSent: number
  /** Cumulative counts per bucket of `durationBuckets`, then +Inf. */
  durationCounts: number[]
  durationSum: number
}

export interface QuicStreamCounts {
  incomingBidirectional: number
  incomingUnidirectional: number
  outgoingBidirectional: number
  outgoingUnidirectional: number
}

/** What `closed()` reads: any socket's byte counts, and a QUIC connection's streams and datagrams. */
export type ClosedStats = { bytesReceived: number; bytesSent: number } & Partial<QuicStats>

export function emptySnapshot(): MetricsSnapshot {
  return {
    connectionsActive: 0,
    connectionsTotal: 0,
    bytesIn: 0,
    bytesOut: 0,
    handlerErrors: 0,
    egressDenials: 0,
    connectionsRefused: 0,
    handshakeTimeouts: 0,
    headerTimeouts: 0,
    udpFlowsDropped: 0,
    udpFlowsRateLimited: 0,
    handshakesPending: 0,
    quicStreams: {
      incomingBidirectional: 0,
      incomingUnidirectional: 0,
      outgoingBidirectional: 0,
      outgoingUnidirectional: 0,
    },
    quicDatagramsReceived: 0,
    quicDatagramsSent: 0,
    durationCounts: new Array(durationBuckets.length + 1).fill(0),
    durationSum: 0,
  }
}

/** A replica's own counters. */
export class WorkerMetrics {
  readonly #now = emptySnapshot()

  opened(): void {
    this.#now.connectionsActive++
    this.#now.connectionsTotal++
  }

  closed(stats: ClosedStats, seconds: number): void {
    const now = this.#now
    now.connectionsActive--
    now.bytesIn += stats.bytesReceived
    now.bytesOut += stats.bytesSent
    if (stats.datagramsSent !== undefined) this.#quic(stats as QuicStats)
    now.durationSum += seconds
    for (let i = 0; i < now.durationCounts.length; i++) {
      const bound = durationBuckets[i]
      if (bound === undefined || seconds <= bound)
        now.durationCounts[i] = (now.durationCounts[i] ?? 0) + 1
    }
  }

  #quic(stats: QuicStats): void {
    const now = this.#now
    const streams = now.quicStreams
    streams.incomingBidirectional += stats.incomingBidirectionalStreams
    streams.incomingUnidirectional += stats.incomingUnidirectionalStreams
    streams.outgoingBidirectional += stats.outgoingBidirectionalStreams
    streams.outgoingUnidirectional += stats.outgoingUnidirectionalStreams
    now.quicDatagramsReceived += stats.datagramsReceived
    now.quicDatagramsSent += stats.datagramsSent
  }

  handlerError(): void {
    this.#now.handlerErrors++
  }

  egressDenied(): void {
    this.#now.egressDenials++
  }

  refused(): void {
    this.#now.connectionsRefused++
  }

  handshakeTimedOut(): void {
    this.#now.handshakeTimeouts++
  }

  headerTimedOut(): void {
    this.#now.headerTimeouts++
  }

  udpFlowDropped(): void {
    this.#now.udpFlowsDropped++
  }

  udpFlowRateLimited(): void {
    this.#now.udpFlowsRateLimited++
  }

  /** A connection entered (+1) or left (-1) its PROXY header or TLS handshake. */
  pending(delta: 1 | -1): void {
    this.#now.handshakesPending += delta
  }

  get active(): number {
    return this.#now.connectionsActive
  }

  snapshot(): MetricsSnapshot {
    const now = this.#now
    return { ...now, quicStreams: { ...now.quicStreams }, durationCounts: [...now.durationCounts] }
  }
}

/** Adds `b` into `a`. Gauges (active, pending) add too: they are per replica. */
export function addSnapshots(a: MetricsSnapshot, b: MetricsSnapshot): MetricsSnapshot {
  return {
    connectionsActive: a.connectionsActive + b.connectionsActive,
    connectionsTotal: a.connectionsTotal + b.connectionsTotal,
    bytesIn: a.bytesIn + b.bytesIn,
    bytesOut: a.bytesOut + b.bytesOut,
    handlerErrors: a.handlerErrors + b.handlerErrors,
    egressDenials: a.egressDenials + b.egressDenials,
    connectionsRefused: a.connectionsRefused + b.connectionsRefused,
    handshakeTimeouts: a.handshakeTimeouts + b.handshakeTimeouts,
    headerTimeouts: a.headerTimeouts + b.headerTimeouts,
    udpFlowsDropped: a.udpFlowsDropped + b.udpFlowsDropped,
    udpFlowsRateLimited: a.udpFlowsRateLimited + b.udpFlowsRateLimited,
    handshakesPending: a.handshakesPending + b.handshakesPending,
    quicStreams: {
      incomingBidirectional:
        a.quicStreams.incomingBidirectional + b.quicStreams.incomingBidirectional,
      incomingUnidirectional:
        a.quicStreams.incomingUnidirectional + b.quicStreams.incomingUnidirectional,
      outgoingBidirectional:
        a.quicStreams.outgoingBidirectional + b.quicStreams.outgoingBidirectional,
      outgoingUnidirectional:
        a.quicStreams.outgoingUnidirectional + b.quicStreams.outgoingUnidirectional,
    },
    quicDatagramsReceived: a.quicDatagramsReceived + b.quicDatagramsReceived,
    quicDatagramsSent: a.quicDatagramsSent + b.quicDatagramsSent,
    durationCounts: a.durationCounts.map((count, i) => count + (b.durationCounts[i] ?? 0)),
    durationSum: a.durationSum + b.durationSum,
  }
}

export interface WorkerFigures {
  worker: string
  snapshot: MetricsSnapshot
  restarts: number
  replicas: number
}

/** Prometheus text exposition format, version 0.0.4. */
export function prometheusText(workers: WorkerFigures[]): string {
  const lines: string[] = []
  const family = (
    name: string,
    type: string,
    help: string,
    value: (w: WorkerFigures) => number,
  ) => {
    lines.push(`# HELP sockworker_${name} ${help}`, `# TYPE sockworker_${name} ${type}`)
    for (const w of workers) lines.push(`sockworker_${name}{worker="${w.worker}"} ${value(w)}`)
  }
  family('connections_active', 'gauge', 'Open connections.', (w) => w.snapshot.connectionsActive)
  family(
    'connections_total',
    'counter',
    'Connections accepted.',
    (w) => w.snapshot.connectionsTotal,
  )
  family('bytes_in_total', 'counter', 'Bytes received from clients.', (w) => w.snapshot.bytesIn)
  family('bytes_out_total', 'counter', 'Bytes sent to clients.', (w) => w.snapshot.bytesOut)
  family(
    'handler_errors_total',
    'counter',
    'Handlers that threw or rejected.',
    (w) => w.snapshot.handlerErrors,
  )
  family(
    'egress_denials_total',
    'counter',
    'Outbound connections the egress policy denied.',
    (w) => w.snapshot.egressDenials,
  )
  family(
    'connections_refused_total',
    'counter',
    'Connections closed at accept because max_connections was reached.',
    (w) => w.snapshot.connectionsRefused,
  )
  family(
    'handshake_timeouts_total',
    'counter',
    'TLS handshakes cut off by handshake_timeout_ms.',
    (w) => w.snapshot.handshakeTimeouts,
  )
  family(
    'header_timeouts_total',
    'counter',
    'PROXY headers and HTTP request heads cut off by header_timeout_ms.',
    (w) => w.snapshot.headerTimeouts,
  )
  family(
    'udp_flows_dropped_total',
    'counter',
    'Datagrams discarded because they would have opened a UDP flow past max_flows.',
    (w) => w.snapshot.udpFlowsDropped,
  )
  family(
    'udp_flows_rate_limited_total',
    'counter',
    'Datagrams discarded because they would have opened UDP flows faster than new_flows_per_second.',
    (w) => w.snapshot.udpFlowsRateLimited,
  )
  family(
    'handshakes_pending',
    'gauge',
    'Connections still in their PROXY header or TLS handshake.',
    (w) => w.snapshot.handshakesPending,
  )
  const streams = 'sockworker_quic_streams_total'
  lines.push(
    `# HELP ${streams} QUIC streams opened, by direction (incoming: the client opened it) and kind.`,
    `# TYPE ${streams} counter`,
  )
  for (const w of workers) {
    const q = w.snapshot.quicStreams
    for (const [direction, kind, value] of [
      ['incoming', 'bidirectional', q.incomingBidirectional],
      ['incoming', 'unidirectional', q.incomingUnidirectional],
      ['outgoing', 'bidirectional', q.outgoingBidirectional],
      ['outgoing', 'unidirectional', q.outgoingUnidirectional],
    ] as const) {
      lines.push(
        `${streams}{worker="${w.worker}",direction="${direction}",kind="${kind}"} ${value}`,
      )
    }
  }
  family(
    'quic_datagrams_received_total',
    'counter',
    'QUIC datagrams received from clients, those dropped unread included.',
    (w) => w.snapshot.quicDatagramsReceived,
  )
  family(
    'quic_datagrams_sent_total',
    'counter',
    'QUIC datagrams sent to clients.',
    (w) => w.snapshot.quicDatagramsSent,
  )
  family(
    'restarts_total',
    'counter',
    'Replica restarts after a crash, a limit or a hang.',
    (w) => w.restarts,
  )
  family('replicas', 'gauge', 'Replicas running.', (w) => w.replicas)
  const name = 'sockworker_handler_duration_seconds'
  lines.push(
    `# HELP ${name} Time from accepting a connection to closing it.`,
    `# TYPE ${name} histogram`,
  )
  for (const w of workers) {
    const { durationCounts, durationSum } = w.snapshot
    durationBuckets.forEach((bound, i) => {
      lines.push(`${name}_bucket{worker="${w.worker}",le="${bound}"} ${durationCounts[i] ?? 0}`)
    })
    const total = durationCounts[durationBuckets.length] ?? 0
    lines.push(`${name}_bucket{worker="${w.worker}",le="+Inf"} ${total}`)
    lines.push(
      `${name}_sum{worker="${w.worker}"} ${durationSum}`,
      `${name}_count{worker="${w.worker}"} ${total}`,
    )
  }
  return `${lines.join('\n')}\n`
}
