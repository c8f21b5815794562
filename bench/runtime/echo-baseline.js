// The baseline for the runtime benchmarks: a hand-written `node:net` echo
// server in its own process, as someone would write without sockworker.
// Plain JavaScript: a bare Node process, with no type stripping at start.
import net from 'node:net'

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => {})
  socket.pipe(socket)
})
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address()
  console.log(`ready tcp 127.0.0.1:${port}`)
})
process.on('SIGTERM', () => process.exit(0))
