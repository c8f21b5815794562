/** The worker side of the runtime benchmarks: the echo a user would write. */
import type { Socket } from '@sockworker/sockets'

export default {
  async connect(socket: Socket): Promise<void> {
    await socket.readable.pipeTo(socket.writable)
  },
}
