/**
 * A QUIC client on Deno: `Deno.connectQuic` over an endpoint of its own,
 * so that closing the connection also closes its UDP socket, and an
 * abandoned handshake stops retransmitting at once.
 */
import { formatAddress } from '../../../address.ts'
import { SocketError } from '../../../errors.ts'
import type { QuicConnectRequest } from '../../../quic/platform.ts'
import { toSocketError } from '../errors.ts'
import { DenoQuic, type QuicConn, type QuicEndpoint } from './api.ts'
import { DenoQuicConnection } from './connection.ts'
import { pem, transportOptions, unsupportedClientTls, unsupportedParams } from './options.ts'

const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/

/**
 * @example
 * installQuicPlatform({ connectQuic, listenQuic: (request) => new DenoQuicServer(request) })
 */
export function connectQuic(request: QuicConnectRequest): DenoQuicConnection {
  const { hostname, port, tls, params } = request
  const where = formatAddress(hostname, port)
  let endpoint: QuicEndpoint | undefined
  let local: { address: string; port: number } | undefined
  let opening: Promise<QuicConn>
  try {
    const failure = unsupportedClientTls(tls) ?? unsupportedParams(params)
    if (failure !== undefined) throw failure
    const { QuicEndpoint: Endpoint, connectQuic: connect } = DenoQuic
    if (Endpoint === undefined || connect === undefined) {
      throw new SocketError('ERR_UNSUPPORTED', 'Deno has QUIC only with --unstable-net')
    }
    endpoint = new Endpoint({ hostname: ipv4.test(hostname) ? '0.0.0.0' : '::', port: 0 })
    local = { address: endpoint.addr.hostname, port: endpoint.addr.port }
    const ca = tls.ca === undefined ? undefined : Array.isArray(tls.ca) ? tls.ca : [tls.ca]
    opening = connect({
      hostname,
      port,
      serverName: request.servername,
      alpnProtocols: request.alpn,
      endpoint,
      ...(ca === undefined ? {} : { caCerts: ca.map(pem) }),
      ...(tls.cert !== undefined && tls.key !== undefined
        ? { cert: pem(tls.cert), key: pem(tls.key) }
        : {}),
      ...transportOptions(params),
    })
  } catch (error) {
    endpoint?.close()
    opening = Promise.reject(toSocketError(error, `connect to ${where}`))
  }
  return new DenoQuicConnection(opening, {
    client: true,
    where,
    remote: { address: hostname, port },
    local: () => local,
    servername: request.servername,
    params,
    gone: () => endpoint?.close(),
  })
}
