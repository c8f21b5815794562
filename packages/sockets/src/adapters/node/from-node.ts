/**
 * For runtimes built on Node (the sockworker runtime): a `Socket` over a
 * connection Node has already accepted, so that a host can do its own
 * accepting (shared listening handles, PROXY protocol, TLS termination) and
 * still hand its workers the standard API.
 */
import type { Socket as NetSocket } from 'node:net'
import { formatAddress } from '../../address.ts'
import { streamAttachment } from '../../attachment.ts'
import type { ByteChannel } from '../../platform.ts'
import { Socket } from '../../socket.ts'
import type { TlsOptions } from '../../types.ts'
import { NodeByteChannel } from './byte-channel.ts'
import { isTlsSocket } from './tls.ts'

export interface FromNodeOptions {
  /** Material for `socket.startTls()` on a plaintext connection. Default: none (no upgrade). */
  tls?: TlsOptions
  /** The client's real address, as a PROXY protocol header gave it. Default: the TCP peer. */
  peer?: { address: string; port: number }
  /** Default: `false`. */
  allowHalfOpen?: boolean
  /** Default: `0` (never). */
  idleTimeout?: number
  /** Default: `65536`. */
  highWaterMark?: number
}

/**
 * Wraps an open `net.Socket` (or a `tls.TLSSocket` whose handshake is done)
 * in a `Socket`.
 *
 * @example
 * server.on('connection', (raw) => handle(fromNodeSocket(raw, { tls: { cert, key } })))
 */
export function fromNodeSocket(socket: NetSocket, options: FromNodeOptions = {}): Socket {
  const secure = isTlsSocket(socket)
  const peer = options.peer ?? {
    address: socket.remoteAddress ?? '?',
    port: socket.remotePort ?? 0,
  }
  let channel: ByteChannel = new NodeByteChannel(socket, {
    peer: formatAddress(peer.address, peer.port),
    openEvent: undefined,
    reads: 'accepted',
  })
  if (options.peer !== undefined) channel = withPeer(channel, options.peer)
  channel.tune({ noDelay: true, idleTimeout: options.idleTimeout ?? 0 })
  const upgrade = !secure && options.tls ? { role: 'server' as const, tls: options.tls } : undefined
  const init = {
    allowHalfOpen: options.allowHalfOpen ?? false,
    highWaterMark: options.highWaterMark ?? 65536,
  }
  return new Socket(init, streamAttachment(secure ? 'tls' : 'tcp', channel, false, upgrade))
}

/** Reports `peer` as the remote end, here and on the TLS channel an upgrade makes. */
function withPeer(channel: ByteChannel, peer: { address: string; port: number }): ByteChannel {
  const info = channel.info.bind(channel)
  const startTls = channel.startTls.bind(channel)
  return Object.assign(channel, {
    info: () => ({ ...info(), remoteAddress: peer.address, remotePort: peer.port }),
    startTls: (params: Parameters<ByteChannel['startTls']>[0]) => withPeer(startTls(params), peer),
  })
}
