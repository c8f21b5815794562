/**
 * A `DatagramChannel` over `node:dgram`. The socket family follows the
 * addresses: IPv6 when either end is an IPv6 literal, IPv4 otherwise.
 */
import { createSocket, type Socket as DgramSocket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import { formatAddress } from '../../address.ts'
import type { SocketError } from '../../errors.ts'
import type {
  ChannelInfo,
  DatagramBindRequest,
  DatagramChannel,
  DatagramHandler,
} from '../../platform.ts'
import { toSocketError } from './errors.ts'

const unattached: DatagramHandler = { listening() {}, message() {}, close() {} }

export class NodeDatagramChannel implements DatagramChannel {
  handler: DatagramHandler = unattached
  readonly #socket: DgramSocket
  readonly #connected: boolean
  readonly #where: string
  #error: SocketError | undefined
  #closed = false

  constructor(request: DatagramBindRequest) {
    const { remote, localAddress } = request
    const v6 =
      (localAddress !== undefined && isIPv6(localAddress)) ||
      (remote !== undefined && isIPv6(remote.hostname))
    this.#connected = remote !== undefined
    this.#where = remote
      ? formatAddress(remote.hostname, remote.port)
      : formatAddress(localAddress ?? (v6 ? '::' : '0.0.0.0'), request.localPort)
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: request.reusePort })
    socket.on('message', (message, rinfo) =>
      this.handler.message(message, rinfo.address, rinfo.port),
    )
    socket.on('error', (error) => {
      this.#error ??= toSocketError(
        error,
        remote ? `send to ${this.#where}` : `bind ${this.#where}`,
      )
      this.close()
    })
    socket.on('close', () => this.handler.close(this.#error))
    const bound = () => {
      if (remote === undefined) return this.handler.listening()
      socket.connect(remote.port, remote.hostname, () => this.handler.listening())
    }
    socket.bind(
      { port: request.localPort, ...(localAddress ? { address: localAddress } : {}) },
      bound,
    )
    this.#socket = socket
  }

  info(): ChannelInfo {
    let local: { address?: string; port?: number } = {}
    let remote: { address?: string; port?: number } = {}
    try {
      local = this.#socket.address()
      if (this.#connected) remote = this.#socket.remoteAddress()
    } catch {
      // Not bound or connected yet: the addresses are not known.
    }
    return {
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      tls: undefined,
    }
  }

  send(
    data: Uint8Array,
    to: { address: string; port: number } | undefined,
    done: (error?: SocketError) => void,
  ): void {
    if (this.#closed)
      return done(toSocketError({ code: 'ERR_STREAM_DESTROYED' }, `send to ${this.#where}`))
    const sent = (error: Error | null) =>
      done(
        error
          ? toSocketError(error, `send to ${to ? formatAddress(to.address, to.port) : this.#where}`)
          : undefined,
      )
    if (to === undefined) {
      this.#socket.send(data, sent)
      return
    }
    if (this.#connected) {
      // The kernel refuses a destination on a connected socket; sending
      // elsewhere than the peer would be a caller's mistake.
      const peer = this.#socket.remoteAddress()
      if (peer.port !== to.port || peer.address !== to.address) {
        return done(
          toSocketError(
            new TypeError(
              `This UDP socket is connected to ${this.#where}; it cannot send to ${formatAddress(to.address, to.port)}`,
            ),
            `send to ${formatAddress(to.address, to.port)}`,
          ),
        )
      }
      this.#socket.send(data, sent)
      return
    }
    this.#socket.send(data, to.port, to.address, sent)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#socket.close()
  }
}
