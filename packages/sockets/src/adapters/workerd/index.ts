/**
 * @sockworker/sockets on workerd (Cloudflare Workers), chosen by the
 * `workerd` export condition: `connect()` and `Socket` delegate to
 * `cloudflare:sockets`, so a library written against this API runs on
 * Cloudflare. workerd accepts connections only through a worker's `connect`
 * handler, so `listen()` throws.
 */
import { parseAddress } from '../../address.ts'
import type { ListenOptions, SocketAddress, SocketOptions } from '../../types.ts'
import { Socket, unsupported } from './socket.ts'

export { isSocketError, SocketError, type SocketErrorCode } from '../../errors.ts'
export { FlowDropEvent, type FlowDropReason, SocketEvent, SocketListener } from '../../listener.ts'
export type * from '../../types.ts'
export { Socket }

/**
 * Opens a TCP or TLS connection through `cloudflare:sockets`.
 *
 * @example
 * const socket = connect('example.com:443', { secureTransport: 'on' })
 */
export function connect(address: SocketAddress, options: SocketOptions = {}): Socket {
  return new Socket({ ...options, remote: parseAddress(address) })
}

/**
 * Not available on workerd: it always throws a `SocketError` with code
 * `ERR_UNSUPPORTED`. Serve connections with a worker's `connect` handler.
 *
 * @example
 * export default { async connect(socket) { await socket.readable.pipeTo(socket.writable) } }
 */
export function listen(_options?: ListenOptions): never {
  throw unsupported('listen() (serve with a connect handler instead)')
}
