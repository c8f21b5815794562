/**
 * The tunnel transport's entry points, as the socket uses them: a
 * `ByteChannel` over a WebSocket to `sockworker tunnel serve`, and the
 * per-process routing table (routes.ts).
 */
import { formatAddress } from '../address.ts'
import type { ByteChannel, StreamConnectRequest } from '../platform.ts'
import type { TunnelVia } from '../types.ts'
import { TunnelChannel, type TunnelSocket } from './channel.ts'
import { tunnelWire } from './wire.ts'

export { installTunnelRoutes, tunnelRouteFor } from './routes.ts'
export { closeReason as tunnelCloseReason, tunnelWire } from './wire.ts'

/**
 * Opens `request`'s connection through the tunnel at `via`. The channel
 * reports `open` once the daemon has connected to the target.
 *
 * @throws TypeError for TLS from the first byte, which the tunnel cannot carry yet.
 * @example
 * const channel = openTunnel({ hostname: 'db', port: 5432, tls: undefined }, { url: 'wss://t:8443', token })
 */
export function openTunnel(request: StreamConnectRequest, via: TunnelVia): ByteChannel {
  if (request.tls !== undefined) {
    throw new TypeError(
      'TLS through the tunnel is not supported yet: use secureTransport "off" (the tunnel itself uses wss://)',
    )
  }
  const protocols: string[] = [tunnelWire.protocol]
  if (via.token !== undefined) protocols.push(`${tunnelWire.tokenPrefix}${via.token}`)
  const ws = new WebSocket(via.url, protocols) as unknown as TunnelSocket
  const target = formatAddress(request.hostname, request.port)
  const channel = new TunnelChannel(ws, { target, via }, request)
  if (request.idleTimeout) channel.tune({ idleTimeout: request.idleTimeout })
  return channel
}
