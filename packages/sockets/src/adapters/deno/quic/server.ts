/**
 * A QUIC listener on a `Deno.QuicEndpoint`. Each connection is handed to
 * the core once its handshake is done; one that fails is never reported.
 * Closing the listener stops accepting, and the endpoint (its UDP socket)
 * closes once the last connection it carries is done.
 */
import { formatAddress } from '../../../address.ts'
import type { SocketError } from '../../../errors.ts'
import type { QuicListenRequest, QuicServer, QuicServerHandler } from '../../../quic/platform.ts'
import { toSocketError } from '../errors.ts'
import { DenoQuic, type QuicEndpoint, type QuicIncoming, type QuicListener } from './api.ts'
import { DenoQuicConnection } from './connection.ts'
import { pem, transportOptions, unsupportedParams, unsupportedServer } from './options.ts'

const unattached: QuicServerHandler = { listening() {}, connection() {}, close() {} }

export class DenoQuicServer implements QuicServer {
  handler: QuicServerHandler = unattached
  readonly #request: QuicListenRequest
  #endpoint: QuicEndpoint | undefined
  #listener: QuicListener | undefined
  #local: { address: string; port: number } | undefined
  #connections = 0
  #closed = false

  constructor(request: QuicListenRequest) {
    this.#request = request
    const where = formatAddress(request.hostname, request.port)
    let failure: SocketError | undefined
    try {
      failure =
        unsupportedServer(request.tls, request.reusePort) ?? unsupportedParams(request.params)
      if (failure === undefined) this.#bind()
    } catch (error) {
      failure = toSocketError(error, `listen on ${where}`)
    }
    // The core installs its handler after this constructor returns.
    queueMicrotask(() => {
      if (failure !== undefined) return this.#stop(failure)
      if (this.#closed) return
      this.handler.listening(this.#local!.port)
      void this.#acceptLoop()
    })
  }

  close(): void {
    this.#stop(undefined)
  }

  #bind(): void {
    const { hostname, port, tls, alpn, params } = this.#request
    const Endpoint = DenoQuic.QuicEndpoint
    if (Endpoint === undefined) throw new TypeError('Deno.QuicEndpoint needs --unstable-net')
    this.#endpoint = new Endpoint({ hostname, port })
    const { addr } = this.#endpoint
    this.#local = { address: addr.hostname, port: addr.port }
    try {
      this.#listener = this.#endpoint.listen({
        cert: pem(tls.cert!),
        key: pem(tls.key!),
        alpnProtocols: alpn,
        ...transportOptions(params),
      })
    } catch (error) {
      this.#endpoint.close()
      throw error
    }
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const incoming of this.#listener!) {
        if (this.#closed) break
        this.#accept(incoming)
      }
    } catch {
      // The endpoint closed under the loop.
    }
  }

  #accept(incoming: QuicIncoming): void {
    const local = this.#local
    this.#connections++
    let counted = true
    const gone = () => {
      if (!counted) return
      counted = false
      this.#connections--
      this.#release()
    }
    incoming.accept().then(
      (conn) => {
        const remote = { address: conn.remoteAddr.hostname, port: conn.remoteAddr.port }
        const channel = new DenoQuicConnection(Promise.resolve(conn), {
          client: false,
          where: formatAddress(remote.address, remote.port),
          remote,
          local: () => local,
          servername: undefined,
          params: this.#request.params,
          gone,
        })
        this.handler.connection(channel)
      },
      // A failed handshake is the client's problem: it is never reported.
      gone,
    )
  }

  #stop(error: SocketError | undefined): void {
    if (this.#closed) return
    this.#closed = true
    this.#listener?.stop()
    this.#release()
    this.handler.close(error)
  }

  /** Closes the endpoint once the listener is closed and no connection uses it. */
  #release(): void {
    if (!this.#closed || this.#connections > 0) return
    this.#endpoint?.close()
    this.#endpoint = undefined
  }
}
