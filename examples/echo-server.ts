/**
 * The demo behind `npm start`: an echo service on TCP and UDP port 7000
 * (or $ECHO_PORT), written with nothing but the public socket API.
 *
 *   socat - TCP:127.0.0.1:7000        # type a line, get it back
 *   echo hi | socat - UDP:127.0.0.1:7000
 */
import { listen, type Socket } from '@sockworker/sockets'

const hostname = process.env['ECHO_HOST'] ?? '127.0.0.1'
const port = Number(process.env['ECHO_PORT'] ?? 7000)
const shutdown = new AbortController()
process.once('SIGINT', () => shutdown.abort())
process.once('SIGTERM', () => shutdown.abort())

async function serve(type: 'tcp' | 'udp'): Promise<void> {
  const listener = listen({ type, hostname, port, signal: shutdown.signal })
  const { port: bound } = await listener.opened
  console.log(`ready ${type} ${hostname}:${bound}`)
  for await (const socket of listener) void echo(type, socket)
}

async function echo(type: string, socket: Socket): Promise<void> {
  const { remoteAddress, remotePort } = socket.info
  const peer = `${type} ${remoteAddress}:${remotePort}`
  console.log(`open  ${peer}`)
  try {
    await socket.readable.pipeTo(socket.writable)
  } catch (error) {
    console.log(`error ${peer}: ${error instanceof Error ? error.message : String(error)}`)
  }
  const { bytesReceived, bytesSent } = socket.stats
  console.log(`close ${peer}: ${bytesReceived} bytes in, ${bytesSent} bytes out`)
}

try {
  await Promise.all([serve('tcp'), serve('udp')])
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
}
