/** The Node.js implementation of the core's `Platform`. */
import { type Socket as NetSocket, connect as netConnect } from 'node:net'
import { formatAddress } from '../../address.ts'
import type { Platform, StreamConnectRequest } from '../../platform.ts'
import { NodeByteChannel } from './byte-channel.ts'
import { NodeDatagramChannel } from './datagram-channel.ts'
import { nodeTls } from './lazy.ts'
import { GrowingReadBuffer } from './own-read-buffers.ts'
import { NodeStreamServer } from './server.ts'
import { clientTlsOptions } from './tls.ts'

function connectStream(request: StreamConnectRequest): NodeByteChannel {
  const { hostname, port, tls } = request
  const target = { host: hostname, port, allowHalfOpen: true, noDelay: request.noDelay ?? true }
  // The channel's handler is set later, so the reads deliver through it late-bound.
  let reads: GrowingReadBuffer | undefined
  let socket: NetSocket
  if (tls) {
    socket = nodeTls().connect({ ...target, ...clientTlsOptions(tls) })
  } else {
    reads = new GrowingReadBuffer((chunk) => channel.handler.data(chunk))
    socket = netConnect({ ...target, onread: { buffer: reads.next, callback: reads.read } })
  }
  const channel: NodeByteChannel = new NodeByteChannel(socket, {
    peer: formatAddress(hostname, port),
    openEvent: tls ? 'secureConnect' : 'connect',
    reads,
  })
  channel.tune(request)
  return channel
}

export const nodePlatform: Platform = {
  connectStream,
  listenStream: (request) => new NodeStreamServer(request),
  bindDatagram: (request) => new NodeDatagramChannel(request),
}
