/**
 * TLS termination for a host that accepts raw TCP itself. The secure
 * contexts are built once per listener, not once per connection.
 */
import type { Socket as NetSocket } from 'node:net'
import { createSecureContext, TLSSocket } from 'node:tls'
import { SocketError } from '../../errors.ts'
import type { TlsOptions } from '../../types.ts'
import { toSocketError } from './errors.ts'
import { serverTlsOptions } from './tls.ts'

/**
 * @example
 * const terminate = createTlsTerminator({ cert, key })
 * const secure = await terminate(raw, 10_000)
 */
export function createTlsTerminator(
  tls: TlsOptions,
): (socket: NetSocket, handshakeTimeout: number) => Promise<TLSSocket> {
  const options = serverTlsOptions(tls)
  const secureContext = createSecureContext(options)
  return (socket, handshakeTimeout) =>
    new Promise((resolve, reject) => {
      const secure = new TLSSocket(socket, { ...options, secureContext, isServer: true })
      const fail = (error: unknown) => {
        clearTimeout(timer)
        secure.destroy()
        reject(toSocketError(error, 'complete a TLS handshake'))
      }
      const timer = setTimeout(
        () =>
          fail(
            new SocketError(
              'ETIMEDOUT',
              `The TLS handshake took longer than ${handshakeTimeout} ms`,
            ),
          ),
        handshakeTimeout,
      )
      secure.once('secure', () => {
        clearTimeout(timer)
        secure.off('error', fail)
        resolve(secure)
      })
      secure.once('error', fail)
    })
}
