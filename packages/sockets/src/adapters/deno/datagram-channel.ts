/**
 * A `DatagramChannel` over `Deno.listenDatagram()`, which Deno 2.x offers
 * only with `--unstable-net`. Deno's UDP sockets cannot be connected, so a
 * socket with a remote peer is emulated as the kernel would do it: sends go
 * to the peer, and datagrams from anyone else are dropped.
 */
import { formatAddress } from '../../address.ts'
import type { SocketError } from '../../errors.ts'
import {
  type ChannelInfo,
  type DatagramBindRequest,
  type DatagramChannel,
  type DatagramHandler,
  unattachedDatagramHandler,
} from '../../platform.ts'
import { type DatagramConn, Deno, type NetAddr } from './deno-api.ts'
import { denoUnsupported, toSocketError } from './errors.ts'

export class DenoDatagramChannel implements DatagramChannel {
  handler: DatagramHandler = unattachedDatagramHandler
  readonly #where: string
  #remote: NetAddr | undefined
  #conn: DatagramConn | undefined
  #error: SocketError | undefined
  #closed = false
  /** Settles once bound and, with a remote, once its address is known. */
  readonly #ready: Promise<void>

  constructor(request: DatagramBindRequest) {
    const { remote, localAddress } = request
    const v6 = isV6(localAddress) || isV6(remote?.hostname)
    this.#where = remote
      ? formatAddress(remote.hostname, remote.port)
      : formatAddress(localAddress ?? (v6 ? '::' : '0.0.0.0'), request.localPort)
    this.#ready = this.#open(request, v6)
    this.#ready.then(
      () => {
        if (this.#closed) return
        this.handler.listening()
        void this.#receiveLoop()
      },
      (error) => {
        this.#error ??= toSocketError(
          error,
          remote ? `connect to ${this.#where}` : `bind ${this.#where}`,
        )
        this.close()
      },
    )
  }

  async #open(request: DatagramBindRequest, v6: boolean): Promise<void> {
    const listenDatagram = Deno.listenDatagram
    if (listenDatagram === undefined) {
      throw denoUnsupported('UDP without --unstable-net', 'run Deno with --unstable-net')
    }
    // Resolve first: a failed lookup must not leave a bound socket behind.
    const remote = request.remote
    if (remote !== undefined) this.#remote = await resolve(remote.hostname, remote.port, v6)
    this.#conn = listenDatagram({
      transport: 'udp',
      hostname: request.localAddress ?? (v6 ? '::' : '0.0.0.0'),
      port: request.localPort,
      ...(request.reusePort ? { reuseAddress: true } : {}),
    })
    if (this.#closed) this.#conn.close()
  }

  info(): ChannelInfo {
    const local = this.#conn?.addr
    return {
      localAddress: local?.hostname,
      localPort: local?.port,
      remoteAddress: this.#remote?.hostname,
      remotePort: this.#remote?.port,
      tls: undefined,
    }
  }

  send(
    data: Uint8Array,
    to: { address: string; port: number } | undefined,
    done: (error?: SocketError) => void,
  ): boolean {
    const where = to ? formatAddress(to.address, to.port) : this.#where
    const fail = (error: unknown) => done(toSocketError(error, `send to ${where}`))
    if (this.#closed) {
      fail(Object.assign(new Error('closed'), { name: 'BadResource' }))
      return true
    }
    // Deno's conn.send() is asynchronous: the write waits for it.
    this.#ready
      .then(() => {
        const conn = this.#conn
        const remote = this.#remote
        if (conn === undefined) throw Object.assign(new Error('closed'), { name: 'BadResource' })
        if (remote !== undefined && to !== undefined && !sameEndpoint(remote, to)) {
          throw new TypeError(
            `This UDP socket is connected to ${this.#where}; it cannot send to ${where}`,
          )
        }
        const target = to
          ? { transport: 'udp' as const, hostname: to.address, port: to.port }
          : remote
        if (target === undefined) {
          throw new TypeError('This UDP socket is not connected: give each datagram an address')
        }
        return conn.send(data, target)
      })
      .then(() => done(), fail)
    return false
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    try {
      this.#conn?.close()
    } catch {
      // Already closed.
    }
    queueMicrotask(() => this.handler.close(this.#error))
  }

  async #receiveLoop(): Promise<void> {
    const conn = this.#conn
    if (conn === undefined) return
    const remote = this.#remote
    for (;;) {
      let message: [Uint8Array<ArrayBuffer>, NetAddr]
      try {
        message = await conn.receive()
      } catch (error) {
        if (this.#closed) return
        this.#error ??= toSocketError(error, `receive on ${this.#where}`)
        return this.close()
      }
      if (this.#closed) return
      const [data, from] = message
      if (
        remote !== undefined &&
        !sameEndpoint(remote, { address: from.hostname, port: from.port })
      ) {
        continue
      }
      this.handler.message(data, from.hostname, from.port)
    }
  }
}

function isV6(address: string | undefined): boolean {
  return address?.includes(':') ?? false
}

function sameEndpoint(a: NetAddr, b: { address: string; port: number }): boolean {
  return a.port === b.port && a.hostname === b.address
}

/**
 * The peer's address, so that replies can be matched against it. Literals
 * stand for themselves; `localhost` is loopback (Deno's resolver asks DNS,
 * not /etc/hosts); other names take the first DNS answer of the family.
 */
async function resolve(hostname: string, port: number, v6: boolean): Promise<NetAddr> {
  const literal = /^[\d.]+$/.test(hostname) || hostname.includes(':')
  let address = hostname
  if (!literal) {
    if (hostname === 'localhost') address = v6 ? '::1' : '127.0.0.1'
    else {
      const answers = await Deno.resolveDns(hostname, v6 ? 'AAAA' : 'A').catch(() => [])
      if (answers[0] === undefined) {
        throw new Error(
          `failed to lookup address information: no ${v6 ? 'AAAA' : 'A'} record for ${hostname}`,
        )
      }
      address = answers[0]
    }
  }
  return { transport: 'udp', hostname: address, port }
}
