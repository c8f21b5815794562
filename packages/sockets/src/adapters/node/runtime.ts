/**
 * `@sockworker/sockets/node`: Node-only helpers for runtimes built on this
 * package. Application code should not need them.
 */
import './index.ts'

export { installTunnelRoutes, tunnelCloseReason, tunnelWire } from '../../tunnel/open.ts'
export { toSocketError } from './errors.ts'
export { type FromNodeOptions, fromNodeSocket } from './from-node.ts'
export { quiche as loadQuicEngine } from './quic/binding.ts'
export { createTlsTerminator } from './tls-terminator.ts'
