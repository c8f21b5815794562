/**
 * TCP and TLS listeners over `Deno.listen()` / `Deno.listenTls()`. Accepted
 * connections are handed over paused; TLS ones once their handshake is done,
 * which runs beside the accept loop so that one slow client cannot stall it.
 */
import { formatAddress } from '../../address.ts'
import type { SocketError } from '../../errors.ts'
import {
  type ListenRequest,
  type ServerHandler,
  type StreamServer,
  unattachedServerHandler,
} from '../../platform.ts'
import { DenoByteChannel } from './byte-channel.ts'
import {
  type Conn,
  Deno,
  hasUnstableNet,
  type Listener,
  type TcpConn,
  type TlsConn,
} from './deno-api.ts'
import { denoUnsupported, toSocketError } from './errors.ts'
import { describeTls, serverTls } from './tls.ts'

export class DenoStreamServer implements StreamServer {
  handler: ServerHandler = unattachedServerHandler
  readonly #where: string
  readonly #tls: boolean
  #listener: Listener<Conn> | undefined
  #error: SocketError | undefined
  #closed = false
  /** Settles when the accept loop has stopped: only then has Deno let go of the port. */
  #stopped: Promise<void> = Promise.resolve()

  constructor(request: ListenRequest) {
    this.#where = formatAddress(request.hostname, request.port)
    this.#tls = request.tls !== undefined
    const options = {
      hostname: request.hostname,
      port: request.port,
      tcpBacklog: request.backlog,
      ...(request.reusePort ? { reusePort: true } : {}),
    }
    try {
      if (request.reusePort && !hasUnstableNet()) {
        throw denoUnsupported('reusePort without --unstable-net', 'run Deno with --unstable-net')
      }
      this.#listener = request.tls
        ? Deno.listenTls({ ...options, ...serverTls(request.tls.tls) })
        : Deno.listen(options)
    } catch (error) {
      this.#error = toSocketError(error, `listen on ${this.#where}`)
    }
    // The core installs its handler after this constructor returns.
    queueMicrotask(() => {
      const listener = this.#listener
      if (listener === undefined) return this.close()
      if (this.#closed) return
      this.handler.listening(listener.addr.port)
      this.#stopped = this.#acceptLoop(listener)
    })
  }

  /**
   * A pending `accept()` holds the listening socket open after
   * `listener.close()` until Deno cancels it, so the listener reports closed
   * (and the port is free) only once the accept loop has ended.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    try {
      this.#listener?.close()
    } catch {
      // Already closed.
    }
    void this.#stopped.then(() => this.handler.close(this.#error))
  }

  async #acceptLoop(listener: Listener<Conn>): Promise<void> {
    for (;;) {
      let conn: Conn
      try {
        conn = await listener.accept()
      } catch (error) {
        if (this.#closed) return
        this.#error = toSocketError(error, `accept on ${this.#where}`)
        return this.close()
      }
      if (this.#closed) return conn.close()
      if (this.#tls) void this.#handshake(conn as TlsConn)
      else this.#hand(conn, undefined)
    }
  }

  async #handshake(conn: TlsConn): Promise<void> {
    try {
      const { alpnProtocol } = await conn.handshake()
      if (this.#closed) return conn.close()
      this.#hand(conn, alpnProtocol)
    } catch (error) {
      // A client's failed handshake is its own problem, not the listener's.
      try {
        conn.close()
      } catch {
        // Already closed.
      }
      this.handler.error(toSocketError(error, `accept a TLS client on ${this.#where}`))
    }
  }

  #hand(conn: Conn, alpn: string | null | undefined): void {
    const { hostname, port } = conn.remoteAddr
    const tcp = alpn === undefined ? (conn as TcpConn) : undefined
    const tls = alpn === undefined ? undefined : describeTls('server', alpn, undefined)
    const channel = new DenoByteChannel({ conn, tcp, tls }, { peer: formatAddress(hostname, port) })
    this.handler.connection(channel)
  }
}
