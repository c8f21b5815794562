/** The Deno implementation of the core's `Platform`, on Deno's own socket API. */
import { formatAddress } from '../../address.ts'
import type { Platform, StreamConnectRequest } from '../../platform.ts'
import { DenoByteChannel } from './byte-channel.ts'
import { DenoDatagramChannel } from './datagram-channel.ts'
import { toSocketError } from './errors.ts'
import { DenoStreamServer } from './server.ts'
import { openConn } from './tls-connect.ts'

function connectStream(request: StreamConnectRequest): DenoByteChannel {
  const abort = new AbortController()
  const peer = formatAddress(request.hostname, request.port)
  const channel = new DenoByteChannel(openConn(request, abort.signal), { peer, abort })
  try {
    channel.tune({ noDelay: request.noDelay ?? true, ...tuningOf(request) })
  } catch (error) {
    // An option Deno cannot honour fails the socket: `opened` rejects with it.
    channel.destroy(toSocketError(error, `connect to ${peer}`))
  }
  return channel
}

function tuningOf({ keepAlive, idleTimeout }: StreamConnectRequest) {
  return {
    ...(keepAlive === undefined ? {} : { keepAlive }),
    ...(idleTimeout === undefined ? {} : { idleTimeout }),
  }
}

export const denoPlatform: Platform = {
  connectStream,
  listenStream: (request) => new DenoStreamServer(request),
  bindDatagram: (request) => new DenoDatagramChannel(request),
}
