/**
 * The tunnel transport's entry points, as the socket uses them. The helper
 * building the tunnel fills this in: a ByteChannel over a WebSocket to
 * `sockworker tunnel serve`, and the per-process routing table.
 */
import type { ByteChannel, StreamConnectRequest } from '../platform.ts'
import type { TunnelVia } from '../types.ts'

/** The tunnel configured for `hostname:port` in this process, if any. */
export function tunnelRouteFor(_hostname: string, _port: number): TunnelVia | undefined {
  return undefined
}

export function openTunnel(_request: StreamConnectRequest, _via: TunnelVia): ByteChannel {
  throw new TypeError('The tunnel transport is not available yet')
}
