/**
 * A server connection's own UDP socket, for listeners that share their port
 * with SO_REUSEPORT (the replicas of a worker). It is bound to the
 * listener's address and port and connected to the peer.
 *
 * Why: the kernel spreads a shared port's packets over its unconnected
 * sockets by a hash of the peer's address and port, modulo how many there
 * are. A reload adds the new replicas' sockets, and a drain removes the old
 * ones, so most connections' packets would move to a replica that does not
 * know them, and those connections would die. Linux delivers a peer's
 * packets to a socket connected to that peer ahead of the group, however
 * the group changes, and never picks a connected socket for anyone else.
 * A connection so stays with the process that accepted it, as a TCP
 * connection does, and a draining listener can close its shared socket at
 * once: new connections go to the sockets that remain.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import type { HostPort, PacketPath } from './connection.ts'

export interface OwnSocket {
  send: PacketPath['send']
  close(): void
}

/**
 * Until the socket is connected (a few event-loop turns), packets go out
 * through the listener's socket, from the same address and port. If binding
 * or connecting fails, they keep doing so: the connection works, but does
 * not survive a change of the port's group.
 */
export function ownSocket(
  listener: UdpSocket,
  local: HostPort,
  remote: HostPort,
  options: { type: 'udp4' | 'udp6'; recvBufferSize: number; sendBufferSize: number },
  receive: (packet: Buffer, from: HostPort) => void,
): OwnSocket {
  const udp = createSocket({ ...options, reuseAddr: true, reusePort: true })
  let state: 'binding' | 'bound' | 'connected' | 'closed' = 'binding'
  udp.on('message', (packet, info) => receive(packet, { host: info.address, port: info.port }))
  // ICMP errors (the peer's port closed) arrive here on a connected socket:
  // QUIC's idle timeout deals with a peer that is gone, as without one.
  udp.on('error', () => {})
  udp.bind(local.port, local.host, () => {
    if (state === 'closed') {
      udp.close()
      return
    }
    state = 'bound'
    udp.connect(remote.port, remote.host, (error?: Error) => {
      if (error === undefined && state === 'bound') state = 'connected'
    })
  })
  return {
    send(packet, port, host) {
      if (state === 'connected') {
        udp.send(packet)
        return
      }
      try {
        listener.send(packet, port, host)
      } catch {
        // The listener's socket closed (a drain) before ours connected: QUIC retransmits.
      }
    },
    close() {
      const was = state
      state = 'closed'
      // Once the last packets have left; a socket still binding closes in its callback.
      if (was !== 'binding' && was !== 'closed') setImmediate(() => udp.close())
    },
  }
}
