// The worker side of the runtime benchmarks: the echo a user would write.
// Plain JavaScript, so that sockworker and workerd serve the very same file
// and neither strips types at start.
export default {
  async connect(socket) {
    await socket.readable.pipeTo(socket.writable)
  },
}
