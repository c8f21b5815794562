/**
 * A UDP socket of its own: bound to a local port, and connected to a peer
 * when `remote` is given (then plain bytes may be written, and the kernel
 * drops datagrams from anyone else).
 */
import { checkHostname, checkPort } from './address.ts'
import { DatagramTransport } from './datagram-transport.ts'
import { platform } from './platform.ts'
import type { TransportEvents } from './stream-transport.ts'
import type { SocketInit } from './types.ts'

export function openDatagramSocket(
  init: SocketInit,
  highWaterMark: number,
  events: TransportEvents,
): DatagramTransport {
  const remote = init.remote
  const peer =
    remote === undefined
      ? undefined
      : {
          hostname: checkHostname(
            'address' in remote ? remote.address : remote.hostname,
            'remote address',
          ),
          port: checkPort(remote.port, 'remote port'),
        }
  const local = init.local ?? {}
  if (peer === undefined && init.local === undefined) {
    throw new TypeError('Cannot open a UDP socket without remote or local: give at least one')
  }
  const channel = platform().bindDatagram({
    localAddress:
      local.address === undefined ? undefined : checkHostname(local.address, 'local address'),
    localPort: local.port === undefined ? 0 : checkPort(local.port, 'local port', true),
    remote: peer,
    reusePort: false,
  })
  const transport = new DatagramTransport(
    {
      peer: peer && { address: peer.hostname, port: peer.port },
      send: (data, to, done) => channel.send(data, to, done),
      info: () => channel.info(),
      close: () => channel.close(),
    },
    highWaterMark,
    events,
  )
  channel.handler = {
    listening: () => events.open(),
    message: (data, address, port) => transport.deliver(data, address, port),
    close: (error) => transport.ended(error),
  }
  return transport
}
