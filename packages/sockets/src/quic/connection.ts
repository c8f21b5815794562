/**
 * `QuicConnection`: what `new Socket({ type: 'quic' })` returns and a QUIC
 * listener yields. It is a `Socket` (lifecycle, signal, events, `info`)
 * with the WebTransport members on top.
 */
import { checkHostname, checkPort, formatAddress } from '../address.ts'
import { Attachment } from '../attachment.ts'
import { checkAlpn, resolveOptions } from '../options.ts'
import { Socket } from '../socket.ts'
import type { SocketInit } from '../types.ts'
import { checkCloseInfo, resolveQuicParams } from './options.ts'
import { type QuicConnectionChannel, quicPlatform, registerQuicSocket } from './platform.ts'
import { QuicTransport } from './transport.ts'
import type {
  QuicBidirectionalStream,
  QuicCloseInfo,
  QuicDatagrams,
  QuicSocketOptions,
  QuicStats,
} from './types.ts'

/** `new Socket()` init for QUIC. */
export type QuicSocketInit = SocketInit & QuicSocketOptions & { type: 'quic' }

/**
 * A QUIC connection. Its `readable` and `writable` are its first
 * bidirectional stream: a client's opens on first use; an accepted
 * connection's is the first the peer opens (also yielded by
 * `incomingBidirectionalStreams`), and waits for it if used before.
 *
 * @example
 * const quic = new Socket({ type: 'quic', remote: { address: '127.0.0.1', port: 4433 }, alpn: ['echo'], tls: { ca } }) as QuicConnection
 * const { readable, writable } = await quic.createBidirectionalStream()
 * await quic.close({ closeCode: 0, reason: 'done' })
 */
export class QuicConnection extends Socket {
  readonly #transport: QuicTransport

  /** @internal Use `new Socket({ type: 'quic' })` or `listen({ type: 'quic' })`. */
  constructor(init: QuicSocketInit, accepted?: { channel: QuicConnectionChannel; where: string }) {
    const options = resolveOptions(init)
    const params = resolveQuicParams(init)
    let channel: QuicConnectionChannel
    let where: string
    if (accepted === undefined) {
      const remote = init.remote
      if (remote === undefined || typeof remote !== 'object') {
        throw new TypeError('Cannot open a quic socket without remote: { address, port }')
      }
      const hostname = checkHostname(
        'address' in remote ? remote.address : remote.hostname,
        'remote address',
      )
      const port = checkPort(remote.port, 'remote port')
      const alpn = checkAlpn(options.alpn ?? options.tls.alpn)
      if (alpn === undefined || alpn.length === 0) {
        throw new TypeError(
          'Cannot open a quic socket without ALPN: pass alpn: ["your-protocol"] (QUIC requires one)',
        )
      }
      where = formatAddress(hostname, port)
      channel = quicPlatform().connectQuic({
        hostname,
        port,
        servername: options.sni ?? hostname,
        alpn,
        tls: options.tls,
        params,
      })
    } else {
      ;({ channel, where } = accepted)
    }
    let transport!: QuicTransport
    const open = (events: ConstructorParameters<typeof QuicTransport>[2]) => {
      transport = new QuicTransport(
        channel,
        {
          highWaterMark: options.highWaterMark,
          datagramQueue: params.datagramQueue,
          client: accepted === undefined,
          connectTimeout: options.connectTimeout,
          where,
        },
        events,
      )
      return transport
    }
    super({ ...init, idleTimeout: 0, keepAlive: false }, new Attachment('quic', open, true))
    this.#transport = transport
  }

  /** Resolves with `{ closeCode, reason }` when the connection closes; rejects when it fails. */
  override get closed(): Promise<void> {
    return this.#transport.closed as unknown as Promise<void>
  }

  /** Like `closed`, typed: resolves with the close code and reason. */
  get closeInfo(): Promise<Required<QuicCloseInfo>> {
    return this.#transport.closed
  }

  /** Bytes and QUIC packets, plus the streams and datagrams each way. */
  override get stats(): QuicStats {
    return this.#transport.stats
  }

  /** Closes the connection with an application close code and reason. Idempotent. */
  override close(info?: QuicCloseInfo): Promise<void> {
    this.#transport.closeWith(checkCloseInfo(info))
    return super.close()
  }

  /** Opens a bidirectional stream; resolves once the peer's stream limit lets it exist. */
  createBidirectionalStream(): Promise<QuicBidirectionalStream> {
    return this.#transport.createBidirectionalStream()
  }

  /** Opens a unidirectional stream and resolves with its writable. */
  createUnidirectionalStream(): Promise<WritableStream<ArrayBufferView | ArrayBuffer>> {
    return this.#transport.createUnidirectionalStream()
  }

  /** Bidirectional streams the peer opens. */
  get incomingBidirectionalStreams(): ReadableStream<QuicBidirectionalStream> {
    return this.#transport.incomingBidirectionalStreams
  }

  /** Unidirectional streams the peer opens: one readable each. */
  get incomingUnidirectionalStreams(): ReadableStream<ReadableStream<Uint8Array>> {
    return this.#transport.incomingUnidirectionalStreams
  }

  get datagrams(): QuicDatagrams {
    return this.#transport.datagrams
  }
}

registerQuicSocket((init) => new QuicConnection(init as QuicSocketInit))
