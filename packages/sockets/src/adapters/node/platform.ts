/** The Node.js implementation of the core's `Platform`. */
import { connect as netConnect } from 'node:net'
import { formatAddress } from '../../address.ts'
import type { Platform, StreamConnectRequest } from '../../platform.ts'
import { NodeByteChannel } from './byte-channel.ts'
import { NodeDatagramChannel } from './datagram-channel.ts'
import { nodeTls } from './lazy.ts'
import { NodeStreamServer } from './server.ts'
import { clientTlsOptions } from './tls.ts'

function connectStream(request: StreamConnectRequest): NodeByteChannel {
  const { hostname, port, tls } = request
  const target = { host: hostname, port, allowHalfOpen: true, noDelay: request.noDelay ?? true }
  const socket = tls
    ? nodeTls().connect({ ...target, ...clientTlsOptions(tls) })
    : netConnect(target)
  const channel = new NodeByteChannel(socket, {
    peer: formatAddress(hostname, port),
    openEvent: tls ? 'secureConnect' : 'connect',
  })
  channel.tune(request)
  return channel
}

export const nodePlatform: Platform = {
  connectStream,
  listenStream: (request) => new NodeStreamServer(request),
  bindDatagram: (request) => new NodeDatagramChannel(request),
}
