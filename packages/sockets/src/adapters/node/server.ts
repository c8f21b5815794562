/**
 * TCP and TLS servers. Accepted connections are handed over paused; a TLS
 * server hands them over once the handshake is done.
 */
import { createServer as createNetServer, type Socket as NetSocket, type Server } from 'node:net'
import { formatAddress } from '../../address.ts'
import {
  type ListenRequest,
  type ServerHandler,
  type StreamServer,
  unattachedServerHandler,
} from '../../platform.ts'
import { NodeByteChannel } from './byte-channel.ts'
import { toSocketError } from './errors.ts'
import { nodeTls } from './lazy.ts'
import { serverTlsOptions } from './tls.ts'

export class NodeStreamServer implements StreamServer {
  handler: ServerHandler = unattachedServerHandler
  readonly #server: Server
  #error: ReturnType<typeof toSocketError> | undefined
  #closed = false

  constructor(request: ListenRequest) {
    const where = formatAddress(request.hostname, request.port)
    const server = request.tls
      ? nodeTls().createServer({ ...serverTlsOptions(request.tls.tls), allowHalfOpen: true })
      : createNetServer({ allowHalfOpen: true, pauseOnConnect: true })
    const event = request.tls ? 'secureConnection' : 'connection'
    server.on(event, (socket: NetSocket) => {
      const peer = formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0)
      this.handler.connection(
        new NodeByteChannel(socket, { peer, openEvent: undefined, reads: 'accepted' }),
      )
    })
    // A client's failed handshake is its own problem, not the listener's.
    server.on('tlsClientError', (error: Error, socket: NetSocket) => {
      socket.destroy()
      this.handler.error(toSocketError(error, `accept a TLS client on ${where}`))
    })
    server.on('error', (error) => {
      this.#error = toSocketError(error, `listen on ${where}`)
      this.close()
    })
    server.listen(
      {
        host: request.hostname,
        port: request.port,
        backlog: request.backlog,
        reusePort: request.reusePort,
      },
      () => {
        if (this.#closed) return void server.close()
        const address = server.address()
        this.handler.listening(typeof address === 'object' && address ? address.port : request.port)
      },
    )
    this.#server = server
  }

  /**
   * Node's `close` event waits for every accepted connection to end, but a
   * listener is closed once it stops accepting: libuv closes the listening
   * descriptor inside `server.close()`, so the port is free right after.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#server.listening) this.#server.close()
    queueMicrotask(() => this.handler.close(this.#error))
  }
}
