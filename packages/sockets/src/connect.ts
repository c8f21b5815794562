import { parseAddress } from './address.ts'
import { Socket } from './socket.ts'
import type { SocketAddress, SocketOptions } from './types.ts'

/**
 * Opens a TCP connection, with TLS when `secureTransport` is `'on'`; the
 * `cloudflare:sockets` / WinterTC form of `new Socket()`.
 *
 * @example
 * const socket = connect('example.com:443', { secureTransport: 'on', alpn: ['http/1.1'] })
 * const info = await socket.opened
 */
export function connect(address: SocketAddress, options: SocketOptions = {}): Socket {
  const { hostname, port } = parseAddress(address)
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `Invalid options ${JSON.stringify(options)}: expected an object such as { secureTransport: 'on' }`,
    )
  }
  return new Socket({ ...options, remote: { hostname, port } })
}
