/**
 * TCP and TLS listeners on `Bun.listen`. Accepted connections are handed
 * over paused; a TLS listener hands them over once the handshake is done.
 */
import { formatAddress } from '../../address.ts'
import type { SocketError } from '../../errors.ts'
import {
  type ListenRequest,
  type ServerHandler,
  type StreamServer,
  unattachedServerHandler,
} from '../../platform.ts'
import { type BunListener, type BunSocketHandler, bun } from './api.ts'
import { BunByteChannel, channelHandlers } from './byte-channel.ts'
import { toSocketError } from './errors.ts'
import { serverTlsOptions } from './tls.ts'

export class BunStreamServer implements StreamServer {
  handler: ServerHandler = unattachedServerHandler
  #listener: BunListener | undefined
  #error: SocketError | undefined
  #closed = false

  constructor(request: ListenRequest) {
    const where = formatAddress(request.hostname, request.port)
    const secure = request.tls !== undefined
    const handlers: BunSocketHandler<BunByteChannel | undefined> = {
      ...channelHandlers,
      open: (socket) => {
        const peer = formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0)
        const channel = new BunByteChannel({
          peer,
          ...(secure ? { handshake: 'server' as const } : {}),
          ready: (accepted) => this.handler.connection(accepted),
          // A client's failed handshake is its own problem, not the listener's.
          rejected: (error) => this.handler.error(error),
        })
        socket.data = channel
        channel.attach(socket as Parameters<BunByteChannel['attach']>[0])
      },
    }
    try {
      this.#listener = bun.listen({
        hostname: request.hostname,
        port: request.port,
        allowHalfOpen: true,
        reusePort: request.reusePort,
        ...(request.tls ? { tls: serverTlsOptions(request.tls.tls) } : {}),
        socket: handlers,
      })
    } catch (error) {
      this.#error = toSocketError(error, `listen on ${where}`)
    }
    // The core installs its handler after this constructor returns.
    queueMicrotask(() => {
      if (this.#listener === undefined) return this.close()
      if (!this.#closed) this.handler.listening(this.#listener.port)
    })
  }

  /** Stops accepting at once; connections already accepted stay open. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#listener?.stop(false)
    queueMicrotask(() => this.handler.close(this.#error))
  }
}
