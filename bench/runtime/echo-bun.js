// A peer for the runtime benchmarks: Bun's raw echo (`Bun.listen`), run by
// node_modules/.bin/bun. A write the kernel takes only in part keeps the
// rest, and reading pauses until `drain` has sent it: backpressure, as
// `c.pipe(c)` has.
const pending = new WeakMap()

function flush(socket) {
  const rest = pending.get(socket)
  if (rest === undefined) return
  const written = socket.write(rest)
  if (written === rest.byteLength) {
    pending.delete(socket)
    socket.resume()
  } else if (written > 0) pending.set(socket, rest.subarray(written))
}

const server = Bun.listen({
  hostname: '127.0.0.1',
  port: 0,
  socket: {
    data(socket, data) {
      const queued = pending.get(socket)
      if (queued !== undefined) {
        pending.set(socket, Buffer.concat([queued, data]))
        return
      }
      const written = socket.write(data)
      if (written < data.byteLength) {
        // Bun reuses `data`'s memory after this call: keep a copy.
        pending.set(socket, data.slice(Math.max(written, 0)))
        socket.pause()
      }
    },
    drain: flush,
    error() {},
  },
})
console.log(`ready tcp 127.0.0.1:${server.port}`)
process.on('SIGTERM', () => process.exit(0))
