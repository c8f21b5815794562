/**
 * A `DatagramChannel` over `Bun.udpSocket`. The socket family follows the
 * addresses: IPv6 when either end is an IPv6 literal, IPv4 otherwise.
 *
 * Bun's `send()` is synchronous: it throws on an error (EMSGSIZE, a bad
 * address) and returns `false` when the kernel buffer is full, in which case
 * the datagram waits here for `drain`. It takes IP addresses only, so a host
 * name is looked up first, on every send, as Node's dgram does.
 */
import { formatAddress } from '../../address.ts'
import { closedError, type SocketError } from '../../errors.ts'
import {
  type ChannelInfo,
  type DatagramBindRequest,
  type DatagramChannel,
  type DatagramHandler,
  unattachedDatagramHandler,
} from '../../platform.ts'
import { type BunUdpSocket, bun } from './api.ts'
import { toSocketError, unsupported } from './errors.ts'

type Destination = { address: string; port: number }
type Done = (error?: SocketError) => void

export class BunDatagramChannel implements DatagramChannel {
  handler: DatagramHandler = unattachedDatagramHandler
  #socket: BunUdpSocket | undefined
  readonly #remote: { hostname: string; port: number } | undefined
  readonly #where: string
  readonly #family: 4 | 6
  #error: SocketError | undefined
  #closed = false
  #finished = false
  /** Sends made before the socket is bound, or that met a full kernel buffer. */
  readonly #waiting: Array<{ data: Uint8Array; to: Destination | undefined; done: Done }> = []

  constructor(request: DatagramBindRequest) {
    const { remote, localAddress } = request
    const v6 = localAddress?.includes(':') === true || remote?.hostname.includes(':') === true
    this.#remote = remote
    this.#family = v6 ? 6 : 4
    this.#where = remote
      ? formatAddress(remote.hostname, remote.port)
      : formatAddress(localAddress ?? (v6 ? '::' : '0.0.0.0'), request.localPort)
    let bound: Promise<BunUdpSocket>
    try {
      // Bun ignores reusePort on UDP: a second socket on the port gets EADDRINUSE.
      if (request.reusePort) throw unsupported('share a UDP port between sockets (reusePort)')
      bound = bun.udpSocket({
        hostname: localAddress ?? (v6 ? '::' : '0.0.0.0'),
        port: request.localPort,
        ...(remote ? { connect: remote } : {}),
        socket: {
          // A plain Uint8Array view, so that portable code never meets Buffer's quirks.
          data: (_socket, data, port, address) =>
            this.handler.message(
              new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
              address,
              port,
            ),
          drain: () => this.#flush(),
          error: (_socket, error) => {
            this.#error ??= toSocketError(error, remote ? `send to ${this.#where}` : 'receive')
            this.close()
          },
        },
      })
    } catch (error) {
      // Bun throws a failed bind at once (EADDRINUSE); report it as the socket's failure.
      bound = Promise.reject(error)
    }
    bound.then(
      (socket) => {
        if (this.#closed) return socket.close()
        this.#socket = socket
        this.#flush()
        this.handler.listening()
      },
      (error: unknown) => {
        // A failed bind or connect fails the socket before it opens, so `opened` rejects.
        this.#error ??= toSocketError(
          error,
          remote ? `connect to ${this.#where}` : `bind ${this.#where}`,
        )
        this.close()
      },
    )
  }

  info(): ChannelInfo {
    const local = this.#socket?.address
    const remote = this.#remote ? this.#socket?.remoteAddress : undefined
    return {
      localAddress: local?.address,
      localPort: local?.port,
      remoteAddress: remote?.address,
      remotePort: remote?.port,
      tls: undefined,
    }
  }

  /** `true` when Bun took the datagram at once (then `done` has come already). */
  send(data: Uint8Array, to: Destination | undefined, done: Done): boolean {
    if (this.#closed) {
      done(this.#error ?? closedError(`Cannot send to ${this.#target(to)}: the socket is closed`))
      return true
    }
    const remote = this.#remote
    if (to !== undefined && remote !== undefined) {
      // Bun refuses a destination on a connected socket; sending elsewhere
      // than the peer is a caller's mistake.
      const peer = this.#socket?.remoteAddress?.address
      if (to.port !== remote.port || (to.address !== remote.hostname && to.address !== peer)) {
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
      to = undefined
    }
    if (to !== undefined && !isIpLiteral(to.address)) {
      this.#sendByName(data, to, done)
      return false
    }
    if (this.#socket === undefined || this.#waiting.length > 0) {
      this.#waiting.push({ data, to, done })
      return false
    }
    if (this.#sendNow(this.#socket, data, to, done)) return true
    this.#waiting.push({ data, to, done })
    return false
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#socket?.close()
    const failure = this.#error ?? closedError('Cannot send: the socket closed first')
    for (const { done } of this.#waiting.splice(0)) done(failure)
    if (this.#finished) return
    this.#finished = true
    queueMicrotask(() => this.handler.close(this.#error))
  }

  #sendByName(data: Uint8Array, to: Destination, done: Done): void {
    const fail = (error: unknown) => done(toSocketError(error, `send to ${this.#target(to)}`))
    bun.dns.lookup(to.address, { family: this.#family }).then(([first]) => {
      if (first === undefined) return fail({ code: 'DNS_ENOTFOUND' })
      return void this.send(data, { address: first.address, port: to.port }, done)
    }, fail)
  }

  /** `false`: the kernel buffer is full; try again on `drain`. */
  #sendNow(
    socket: BunUdpSocket,
    data: Uint8Array,
    to: Destination | undefined,
    done: Done,
  ): boolean {
    let sent: boolean
    try {
      sent = to === undefined ? socket.send(data) : socket.send(data, to.port, to.address)
    } catch (error) {
      done(toSocketError(error, `send to ${this.#target(to)}`))
      return true
    }
    if (sent) done()
    return sent
  }

  #flush(): void {
    const socket = this.#socket
    if (socket === undefined || this.#closed) return
    while (this.#waiting.length > 0) {
      const { data, to, done } = this.#waiting[0]!
      if (!this.#sendNow(socket, data, to, done)) return
      this.#waiting.shift()
    }
  }

  #target(to: Destination | undefined): string {
    return to === undefined ? this.#where : formatAddress(to.address, to.port)
  }
}

function isIpLiteral(host: string): boolean {
  return host.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)
}
