/**
 * Echo: every byte (TCP) or datagram (UDP) goes back where it came from.
 *
 *   socat - TCP:127.0.0.1:7000
 *   echo hello | socat -t1 - UDP:127.0.0.1:7000
 */
import type { Socket } from '@sockworker/sockets'

export default {
  async connect(socket: Socket): Promise<void> {
    await socket.readable.pipeTo(socket.writable)
  },
}
