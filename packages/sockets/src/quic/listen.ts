/**
 * `listen({ type: 'quic' })`: a listener that yields each QUIC connection
 * once its handshake is done. A connection whose handshake fails is never
 * yielded.
 */
import { checkHostname, checkPort, formatAddress } from '../address.ts'
import { SocketListener } from '../listener.ts'
import { checkAlpn, checkHighWaterMark, checkSignal, checkTls } from '../options.ts'
import { QuicConnection } from './connection.ts'
import { resolveQuicParams } from './options.ts'
import { quicPlatform } from './platform.ts'
import type { QuicListenOptions } from './types.ts'

export function listenQuic(options: QuicListenOptions): SocketListener {
  const hostname = checkHostname(options.hostname ?? '127.0.0.1')
  const port = checkPort(options.port ?? 0, 'port', true)
  const tls = checkTls(options.tls)
  const alpn = checkAlpn(tls.alpn)
  if (tls.cert === undefined || tls.key === undefined) {
    throw new TypeError('Cannot listen with type "quic" without tls.cert and tls.key')
  }
  if (alpn === undefined || alpn.length === 0) {
    throw new TypeError(
      'Cannot listen with type "quic" without tls.alpn: QUIC requires ALPN, as ["h3"]',
    )
  }
  const signal = checkSignal(options.signal)
  const backlog = options.backlog ?? 511
  checkPort(backlog, 'backlog', true)
  const params = resolveQuicParams(options)
  const highWaterMark = checkHighWaterMark(options.highWaterMark)
  const listener = new SocketListener(backlog)
  const server = quicPlatform().listenQuic({
    hostname,
    port,
    reusePort: options.reusePort ?? false,
    alpn,
    tls,
    params,
  })
  const init = {
    type: 'quic' as const,
    highWaterMark,
    ...params,
    keepAlive: params.keepAlive || false,
  }
  server.handler = {
    listening: (boundPort) => listener.bound({ type: 'quic', hostname, port: boundPort }),
    connection: (channel) => {
      const { remoteAddress, remotePort } = channel.info()
      const where = formatAddress(remoteAddress ?? '?', remotePort ?? 0)
      const connection = new QuicConnection(init, { channel, where })
      connection.opened.then(
        () => listener.accept(connection),
        () => {},
      )
    },
    close: (error) => listener.stopped(error),
  }
  listener.start(server, signal)
  return listener
}
