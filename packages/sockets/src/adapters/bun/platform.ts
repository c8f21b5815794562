/** The Bun implementation of the core's `Platform`, on `Bun.connect`, `Bun.listen` and `Bun.udpSocket`. */
import { formatAddress } from '../../address.ts'
import type { ByteChannel, Platform, StreamConnectRequest } from '../../platform.ts'
import { type BunSocketHandler, bun } from './api.ts'
import { BunByteChannel, channelHandlers } from './byte-channel.ts'
import { BunDatagramChannel } from './datagram-channel.ts'
import { BunStreamServer } from './server.ts'
import { clientTlsOptions } from './tls.ts'

function connectStream(request: StreamConnectRequest): ByteChannel {
  const { hostname, port, tls } = request
  const channel = new BunByteChannel({
    peer: formatAddress(hostname, port),
    ...(tls ? { handshake: 'client' as const } : {}),
  })
  channel.tune({ ...request, noDelay: request.noDelay ?? true })
  try {
    bun
      .connect({
        hostname,
        port,
        data: channel,
        allowHalfOpen: true,
        ...(tls ? { tls: clientTlsOptions(tls) } : {}),
        socket: channelHandlers as BunSocketHandler<BunByteChannel>,
      })
      .catch((error: unknown) => channel.connectFailed(error))
  } catch (error) {
    // Bun refused the options themselves; report it as the connection's failure.
    queueMicrotask(() => channel.connectFailed(error))
  }
  return channel
}

export const bunPlatform: Platform = {
  connectStream,
  listenStream: (request) => new BunStreamServer(request),
  bindDatagram: (request) => new BunDatagramChannel(request),
}
