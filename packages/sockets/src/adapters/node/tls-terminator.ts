/**
 * TLS termination for a host that accepts raw TCP itself. The secure
 * contexts are built once per listener, not once per connection.
 */
import type { Socket as NetSocket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { SocketError } from '../../errors.ts'
import type { TlsOptions } from '../../types.ts'
import { toSocketError } from './errors.ts'
import { nodeTls } from './lazy.ts'
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
  const { createSecureContext, TLSSocket } = nodeTls()
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
      // A client that hangs up mid-handshake ends or closes the socket with
      // no 'error' (and a half-open server socket never closes by itself):
      // without this, its attempt would linger until the timeout, holding a
      // place under max_connections and then counted as a timeout.
      const onHangUp = () =>
        fail(new SocketError('ECONNRESET', 'The client hung up during the TLS handshake'))
      secure.once('secure', () => {
        clearTimeout(timer)
        secure.off('error', fail)
        secure.off('end', onHangUp)
        secure.off('close', onHangUp)
        resolve(secure)
      })
      secure.once('error', fail)
      secure.once('end', onHangUp)
      secure.once('close', onHangUp)
    })
}
