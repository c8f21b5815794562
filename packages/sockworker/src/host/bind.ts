/**
 * Binds the listening sockets of TCP, TLS and HTTP listeners in the
 * supervisor. The supervisor only binds: replicas call listen() and accept
 * on duplicates of the same descriptor, so they share one kernel queue.
 * Because the supervisor keeps its descriptor, the socket (and whatever
 * connections are queued on it) outlives any replica, which is what makes
 * a reload lose nothing.
 *
 * This uses `net._createServerHandle`, the internal that Node's own cluster
 * module shares handles with: no public API binds without also accepting.
 */
import { createSocket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import * as net from 'node:net'
import { getSystemErrorName } from 'node:util'

export interface BoundHandle {
  /** The raw libuv TCP handle, sent to replicas with `listen` messages. */
  handle: object
  port: number
  close(): void
}

type RawHandle = { getsockname(out: Record<string, unknown>): number; close(): void }
type CreateServerHandle = (
  address: string,
  port: number,
  addressType: number,
  fd?: number,
  flags?: number,
) => RawHandle | number

const reasons: Record<string, string> = {
  EADDRINUSE: 'address in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
}

export async function bindTcp(hostname: string, port: number): Promise<BoundHandle> {
  const where = hostname.includes(':') ? `[${hostname}]:${port}` : `${hostname}:${port}`
  const address = net.isIP(hostname) ? hostname : (await lookup(hostname)).address
  const create = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle
  const handle = create(address, port, net.isIPv6(address) ? 6 : 4, undefined, 0)
  if (typeof handle === 'number') {
    const code = getSystemErrorName(handle)
    const error = new Error(
      `Cannot listen on ${where}: ${reasons[code] ?? 'bind failed'} (${code})`,
    )
    throw Object.assign(error, { code })
  }
  const out: Record<string, unknown> = {}
  handle.getsockname(out)
  return { handle, port: Number(out['port'] ?? port), close: () => handle.close() }
}

/**
 * A free UDP port for a listener configured with port 0. UDP replicas bind
 * their own sockets (SO_REUSEPORT keeps each flow on one replica), so the
 * supervisor cannot hold this one open: another process may take the port
 * in between, and then the replicas fail to bind and say so.
 */
export async function freeUdpPort(hostname: string): Promise<number> {
  const address = net.isIP(hostname) ? hostname : (await lookup(hostname)).address
  const socket = createSocket(net.isIPv6(address) ? 'udp6' : 'udp4')
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, address, () => resolve())
  })
  const { port } = socket.address()
  socket.close()
  return port
}
