/// <reference lib="esnext.disposable" preserve="true" />
// ^ Our declarations use Symbol.asyncDispose: consumers get the lib that declares it.
/**
 * `Socket`: one connection, TCP, TLS or UDP, in the shape of the original
 * proposal and of `cloudflare:sockets`. The socket owns the lifecycle
 * (`opened`, `closed`, `signal`, events); a transport owns the streams.
 */

import { checkHostname, checkPort, formatAddress } from './address.ts'
import { Attachment, streamAttachment, type Transport } from './attachment.ts'
import {
  abortReason,
  closedReason,
  isSocketError,
  SocketError,
  SocketErrorEvent,
} from './errors.ts'
import { checkType, type ResolvedOptions, resolveOptions } from './options.ts'
import { type ByteChannel, platform, type TlsParams } from './platform.ts'
import { noop } from './promises.ts'
import { quicSocket } from './quic/platform.ts'
import { fromStartTlsOptions } from './start-tls-options.ts'
import { StreamTransport, type TransportEvents } from './stream-transport.ts'
import { openTunnel, tunnelRouteFor } from './tunnel/open.ts'
import type {
  SecureTransport,
  SocketInfo,
  SocketInit,
  SocketStats,
  SocketType,
  SocketUpdate,
  StartTlsOptions,
  TlsOptions,
} from './types.ts'
import { openDatagramSocket } from './udp-socket.ts'

const defaultUdpHighWaterMark = 1 << 20

/**
 * A TCP, TLS or UDP connection with web streams.
 *
 * @example
 * const socket = new Socket({ type: 'tcp', remote: { address: '127.0.0.1', port: 7000 } })
 * const writer = socket.writable.getWriter()
 * await writer.write(new TextEncoder().encode('hello'))
 * await socket.close()
 */
export class Socket extends EventTarget {
  readonly #type!: SocketType
  readonly #options!: ResolvedOptions
  readonly #transport!: Transport
  /**
   * `opened` and `closed` are made when first read, settled from what has
   * happened by then: most accepted sockets never read them, and two
   * promises with their resolvers are a good part of a connection's cost
   * (docs/benchmarks.md, per-connection cost).
   */
  #opened: PromiseWithResolvers<SocketInfo> | undefined
  #closed: PromiseWithResolvers<void> | undefined
  /** Why the socket failed to open, once it has. */
  #openFailure: unknown
  /** Set when a listener is added: with none, no event objects are made. */
  #listened = false
  /** Made when `signal` is first read: most sockets never need one. */
  #lifetime: AbortController | undefined
  #ended = false
  /** Why the socket ended: its error, or `undefined` for a clean close. */
  #endError: unknown
  #opening = true
  #unwatchSignal: (() => void) | undefined
  #secureTransport!: SecureTransport
  #upgradeTls: TlsParams | undefined
  #upgraded = false
  #closing: Promise<void> | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #info: SocketInfo | undefined

  constructor(init: SocketInit, attachment?: Attachment) {
    super()
    // QUIC connections are a subclass with the WebTransport members.
    if (attachment === undefined && (init as SocketInit | null)?.type === 'quic') {
      // biome-ignore lint/correctness/noConstructorReturn: the documented `new Socket({ type: 'quic' })` form
      return quicSocket(init) as Socket
    }
    if (typeof init !== 'object' || init === null) {
      throw new TypeError(
        'Invalid socket init: expected an object such as { remote: { address, port } }',
      )
    }
    this.#type = attachment?.type ?? checkType(init.type, init.secureTransport)
    this.#options = resolveOptions(init)
    this.#secureTransport = this.#type === 'tls' ? 'on' : this.#options.secureTransport
    if (attachment instanceof Attachment) {
      this.#upgradeTls = attachment.upgradeTls
      const events = this.#events()
      this.#transport = attachment.open(events, this.#options)
      if (!attachment.connecting) events.open()
    } else {
      this.#transport = this.#connect(init)
    }
    this.#watchSignal()
  }

  /** The type of connection: `'tcp'`, `'tls'` (TLS from the first byte, or after an upgrade) or `'udp'`. */
  get type(): SocketType {
    return this.#type
  }

  /** Bytes from the peer (TCP, TLS) or `{ data, remoteAddress, remotePort }` messages (UDP). */
  get readable(): ReadableStream {
    return this.#transport.readable
  }

  /** Bytes to the peer (TCP, TLS), or one datagram per write (UDP). */
  get writable(): WritableStream {
    return this.#transport.writable
  }

  /** Resolves with the connection's addresses (and TLS details) once it is open. */
  get opened(): Promise<SocketInfo> {
    if (this.#opened === undefined) {
      const opened = Promise.withResolvers<SocketInfo>()
      opened.promise.catch(noop)
      this.#opened = opened
      if (this.#openFailure !== undefined) opened.reject(this.#openFailure)
      else if (!this.#opening) opened.resolve(this.info)
    }
    return this.#opened.promise
  }

  /** Resolves once the connection is open: `opened` without the details. */
  get ready(): Promise<void> {
    return this.opened.then(() => undefined)
  }

  /** Resolves when the socket has closed cleanly; rejects with why it did not. */
  get closed(): Promise<void> {
    return this.#closedPromise()
  }

  /** Aborts when the socket ends, for whatever reason. */
  get signal(): AbortSignal {
    if (this.#lifetime === undefined) {
      this.#lifetime = new AbortController()
      if (this.#ended) this.#lifetime.abort(this.#endError ?? closedReason())
    }
    return this.#lifetime.signal
  }

  get secureTransport(): SecureTransport {
    return this.#secureTransport
  }

  /** True once `startTls()` has handed this connection to a new socket. */
  get upgraded(): boolean {
    return this.#upgraded
  }

  get info(): SocketInfo {
    if (this.#info !== undefined) return this.#info
    const info = this.#transport.info()
    return { type: this.#type, ...info }
  }

  get stats(): SocketStats {
    return this.#transport.stats
  }

  /**
   * Flushes pending writes, then closes the connection. Calling it again
   * returns the same promise.
   */
  close(_reason?: unknown): Promise<void> {
    this.#closing ??= this.#transport.close().then(
      () => this.#closedPromise(),
      () => this.#closedPromise(),
    )
    return this.#closing
  }

  /** Drops the connection at once; `closed` rejects with `reason`. */
  abort(reason?: unknown): void {
    if (this.#ended) return
    this.#transport.abort(abortReason(reason, 'socket'))
  }

  /**
   * Upgrades the connection to TLS and returns the new socket. This one
   * resolves `closed` and reads as `upgraded`. Allowed on a client made with
   * `secureTransport: 'starttls'` and on a socket accepted by a listener that
   * has `tls` material.
   */
  startTls(options: StartTlsOptions = {}): Socket {
    const params = this.#tlsParams('startTls()', fromStartTlsOptions(options))
    const transport = this.#streamTransport('startTls()')
    this.#upgraded = true
    const channel = transport.detachForTls(params)
    return new Socket(
      { allowHalfOpen: this.#options.allowHalfOpen, highWaterMark: this.#options.highWaterMark },
      streamAttachment('tls', channel, true),
    )
  }

  /** Changes settings of an open socket; `{ type: 'tls' }` upgrades it in place. */
  async update(init: SocketUpdate): Promise<void> {
    const transport = this.#streamTransport('update()')
    const { type, tls, sni, alpn, ...tuning } = init
    if (
      tuning.idleTimeout !== undefined ||
      tuning.noDelay !== undefined ||
      tuning.keepAlive !== undefined
    ) {
      const options = resolveOptions(tuning)
      transport.channel.tune({
        ...(tuning.noDelay === undefined ? {} : { noDelay: options.noDelay }),
        ...(tuning.keepAlive === undefined ? {} : { keepAlive: options.keepAlive }),
        ...(tuning.idleTimeout === undefined ? {} : { idleTimeout: options.idleTimeout }),
      })
    }
    if (type === undefined) return
    if (type !== 'tls')
      throw new TypeError(`Cannot update type to "${String(type)}": only "tls" is possible`)
    const params = this.#tlsParams('update({ type: "tls" })', {
      ...(tls === undefined ? {} : { tls }),
      ...(sni === undefined ? {} : { sni }),
      ...(alpn === undefined ? {} : { alpn }),
    })
    this.#secureTransport = 'on'
    // `opened` settles with the details from before the upgrade.
    void this.opened
    await transport.upgradeInPlace(params)
  }

  override addEventListener(...args: Parameters<EventTarget['addEventListener']>): void {
    this.#listened = true
    super.addEventListener(...args)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(noop)
  }

  #connect(init: SocketInit): Transport {
    const remote = init.remote
    if (this.#type === 'udp') {
      const highWaterMark =
        init.highWaterMark === undefined ? defaultUdpHighWaterMark : this.#options.highWaterMark
      return openDatagramSocket(init, highWaterMark, this.#events())
    }
    if (remote === undefined || typeof remote !== 'object') {
      throw new TypeError(`Cannot open a ${this.#type} socket without remote: { address, port }`)
    }
    const hostname = checkHostname(
      'address' in remote ? remote.address : remote.hostname,
      'remote address',
    )
    const port = checkPort(remote.port, 'remote port')
    const options = this.#options
    const clientTls: TlsParams = {
      role: 'client',
      tls: options.tls,
      servername: options.sni ?? hostname,
      alpn: options.alpn,
    }
    if (this.#secureTransport === 'starttls') this.#upgradeTls = clientTls
    const request = {
      hostname,
      port,
      tls: this.#secureTransport === 'on' ? clientTls : undefined,
      noDelay: options.noDelay,
      keepAlive: options.keepAlive,
      idleTimeout: options.idleTimeout,
    }
    const via = options.via ?? tunnelRouteFor(hostname, port)
    const channel = via === undefined ? platform().connectStream(request) : openTunnel(request, via)
    this.#armConnectTimeout(channel, formatAddress(hostname, port))
    return new StreamTransport(channel, this.#streamOptions(true), this.#events())
  }

  /**
   * A `starttls` client reads only what the application asks for: bytes
   * read ahead of the upgrade would be the server's first TLS bytes, and
   * Deno cannot start TLS while a read is in flight.
   */
  #streamOptions(connecting: boolean) {
    const { allowHalfOpen, highWaterMark } = this.#options
    const ahead = this.#secureTransport === 'starttls' ? 0 : highWaterMark
    return { allowHalfOpen, highWaterMark: ahead, connecting }
  }

  #armConnectTimeout(channel: ByteChannel, where: string): void {
    const ms = this.#options.connectTimeout
    if (ms === 0) return
    this.#timer = setTimeout(() => {
      channel.destroy(
        new SocketError(
          'ETIMEDOUT',
          `Cannot connect to ${where}: no answer within ${ms} ms (connectTimeout)`,
        ),
      )
    }, ms)
  }

  /** The callbacks a transport reports through. */
  #events(): TransportEvents {
    return new Socket.#TransportEvents(this)
  }

  /** One object with shared methods, not two closures per socket. */
  static readonly #TransportEvents = class SocketEvents implements TransportEvents {
    readonly #socket: Socket

    constructor(socket: Socket) {
      this.#socket = socket
    }

    open(): void {
      this.#socket.#onOpen()
    }

    close(error: unknown): void {
      this.#socket.#onClose(error)
    }
  }

  #onOpen(): void {
    clearTimeout(this.#timer)
    this.#opening = false
    this.#opened?.resolve(this.info)
    if (this.#listened) this.dispatchEvent(new Event('open'))
  }

  #onClose(error: unknown): void {
    clearTimeout(this.#timer)
    this.#info = this.info
    this.#ended = true
    this.#endError = error
    this.#unwatchSignal?.()
    if (this.#opening) {
      this.#opening = false
      this.#openFailure =
        error ?? new SocketError('ERR_SOCKET_CLOSED', 'The socket closed before it opened')
      this.#opened?.reject(this.#openFailure)
    }
    if (error === undefined) {
      this.#closed?.resolve()
    } else {
      this.#closed?.reject(error)
      if (this.#listened && isSocketError(error)) this.dispatchEvent(new SocketErrorEvent(error))
    }
    this.#lifetime?.abort(error ?? closedReason())
    if (this.#listened) this.dispatchEvent(new Event('close'))
  }

  #closedPromise(): Promise<void> {
    if (this.#closed === undefined) {
      const closed = Promise.withResolvers<void>()
      closed.promise.catch(noop)
      this.#closed = closed
      if (this.#ended) {
        if (this.#endError === undefined) closed.resolve()
        else closed.reject(this.#endError)
      }
    }
    return this.#closed.promise
  }

  #watchSignal(): void {
    const signal = this.#options.signal
    if (signal === undefined) return
    if (signal.aborted) return this.abort(signal.reason)
    const onAbort = () => this.abort(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    this.#unwatchSignal = () => signal.removeEventListener('abort', onAbort)
  }

  #streamTransport(what: string): StreamTransport {
    if (!(this.#transport instanceof StreamTransport)) {
      throw new TypeError(
        `Cannot call ${what} on a ${this.#type} socket: it works on TCP sockets only`,
      )
    }
    if (this.#upgraded || this.#ended) {
      throw new TypeError(`Cannot call ${what}: the socket is already upgraded or closed`)
    }
    return this.#transport
  }

  #tlsParams(
    what: string,
    options: { tls?: TlsOptions; sni?: string; alpn?: string[] },
  ): TlsParams {
    const base = this.#upgradeTls
    if (base === undefined || this.#secureTransport === 'on') {
      throw new TypeError(
        `Cannot call ${what}: connect with secureTransport: "starttls", or accept the socket on a listener that has tls material`,
      )
    }
    return {
      role: base.role,
      tls: { ...base.tls, ...options.tls },
      servername: options.sni ?? base.servername,
      alpn: options.alpn ?? base.alpn,
    }
  }
}
