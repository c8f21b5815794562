/**
 * A `DatagramChannel` over `node:dgram`. The socket family follows the
 * addresses: IPv6 when either end is an IPv6 literal, IPv4 otherwise.
 */
import { createSocket, type Socket as DgramSocket } from 'node:dgram'
import { isIP, isIPv6 } from 'node:net'
import { formatAddress } from '../../address.ts'
import type { SocketError } from '../../errors.ts'
import {
  type ChannelInfo,
  type DatagramBindRequest,
  type DatagramChannel,
  type DatagramHandler,
  unattachedDatagramHandler,
} from '../../platform.ts'
import { toSocketError } from './errors.ts'

export class NodeDatagramChannel implements DatagramChannel {
  handler: DatagramHandler = unattachedDatagramHandler
  readonly #socket: DgramSocket
  readonly #connected: boolean
  readonly #where: string
  #error: SocketError | undefined
  #closed = false
  /** Sends made before the socket is bound (and connected) wait here. */
  #ready = false
  readonly #pending: Array<() => void> = []

  constructor(request: DatagramBindRequest) {
    const { remote, localAddress } = request
    const v6 =
      (localAddress !== undefined && isIPv6(localAddress)) ||
      (remote !== undefined && isIPv6(remote.hostname))
    this.#connected = remote !== undefined
    this.#where = remote
      ? formatAddress(remote.hostname, remote.port)
      : formatAddress(localAddress ?? (v6 ? '::' : '0.0.0.0'), request.localPort)
    const socket = createSocket({
      type: v6 ? 'udp6' : 'udp4',
      // SO_REUSEPORT, not only SO_REUSEADDR: with SO_REUSEADDR alone Linux
      // hands every datagram to one of the sockets, so one replica took a
      // whole flood while the others idled. SO_REUSEPORT spreads peers
      // across the sockets by their address and port, each peer to one.
      reuseAddr: request.reusePort,
      reusePort: request.reusePort,
      ...(request.receiveBufferSize === undefined
        ? {}
        : { recvBufferSize: request.receiveBufferSize }),
    })
    socket.on('message', (message, rinfo) => {
      // A plain Uint8Array view, so that portable code never meets Buffer's quirks.
      const data = new Uint8Array(message.buffer, message.byteOffset, message.byteLength)
      this.handler.message(data, rinfo.address, rinfo.port)
    })
    socket.on('error', (error) => {
      this.#error ??= toSocketError(
        error,
        remote ? `send to ${this.#where}` : `bind ${this.#where}`,
      )
      this.close()
    })
    socket.on('close', () => this.handler.close(this.#error))
    const ready = () => {
      this.#ready = true
      for (const send of this.#pending.splice(0)) send()
      this.handler.listening()
    }
    const bound = () => {
      if (remote === undefined) return ready()
      socket.connect(remote.port, remote.hostname, (error?: Error) => {
        if (error === undefined || error === null) return ready()
        // A failed connect (no such host, an egress denial) fails the socket
        // before it opens, so `opened` rejects with the reason.
        this.#error ??= toSocketError(error, `connect to ${this.#where}`)
        this.close()
      })
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
  ): boolean {
    if (this.#closed) {
      done(toSocketError({ code: 'ERR_STREAM_DESTROYED' }, `send to ${this.#where}`))
      return true
    }
    if (!this.#ready) {
      this.#pending.push(() => this.send(data, to, done))
      return false
    }
    if (to === undefined) return this.#sendTo(data, undefined, done)
    if (this.#connected) {
      // The kernel refuses a destination on a connected socket; sending
      // elsewhere than the peer would be a caller's mistake.
      const peer = this.#socket.remoteAddress()
      if (peer.port !== to.port || peer.address !== to.address) {
        done(
          toSocketError(
            new TypeError(
              `This UDP socket is connected to ${this.#where}; it cannot send to ${formatAddress(to.address, to.port)}`,
            ),
            `send to ${formatAddress(to.address, to.port)}`,
          ),
        )
        return true
      }
      return this.#sendTo(data, undefined, done)
    }
    return this.#sendTo(data, to, done)
  }

  /**
   * `true` if the datagram reached the kernel at once: dgram tries a
   * synchronous send first and queues only what the kernel would not take
   * (or what waits for a host name's lookup).
   */
  #sendTo(
    data: Uint8Array,
    to: { address: string; port: number } | undefined,
    done: (error?: SocketError) => void,
  ): boolean {
    const sent = (error: Error | null) =>
      done(
        error
          ? toSocketError(error, `send to ${to ? formatAddress(to.address, to.port) : this.#where}`)
          : undefined,
      )
    if (to === undefined) this.#socket.send(data, sent)
    else {
      this.#socket.send(data, to.port, to.address, sent)
      if (isIP(to.address) === 0) return false
    }
    return this.#socket.getSendQueueCount() === 0
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#socket.close()
  }
}
