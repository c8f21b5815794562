/**
 * Free ports, for peers that cannot bind port 0 and report it. Node-only
 * (node:net, node:dgram): the conformance suite does not import it.
 */
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { createServer } from 'node:net'

/**
 * A port that was free a moment ago, for peers that cannot bind port 0 and
 * report it. Another process may take it first; that race is accepted.
 *
 * @example
 * const port = await freePort('udp')
 */
export async function freePort(
  type: 'tcp' | 'udp' | 'both' = 'tcp',
  hostname = '127.0.0.1',
): Promise<number> {
  if (type === 'both') return freeForBoth(hostname)
  if (type === 'udp') {
    const socket = createSocket(hostname.includes(':') ? 'udp6' : 'udp4')
    socket.bind(0, hostname)
    await once(socket, 'listening')
    const { port } = socket.address()
    await new Promise<void>((resolve) => socket.close(() => resolve()))
    return port
  }
  const server = createServer().listen(0, hostname)
  await once(server, 'listening')
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('Cannot read the port')
  return address.port
}

/** One port free for both UDP and TCP: dig retries a truncated answer on the same port. */
async function freeForBoth(hostname: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket('udp4')
    udp.bind(0, hostname)
    await once(udp, 'listening')
    const { port } = udp.address()
    const tcp = createServer()
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false))
      tcp.listen(port, hostname, () => resolve(true))
    })
    udp.close()
    if (bound) {
      await new Promise((resolve) => tcp.close(resolve))
      return port
    }
    if (attempt > 20) throw new Error('Found no port free for both UDP and TCP')
  }
}
