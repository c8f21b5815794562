/**
 * An ioredis `Connector` whose sockets come from a runtime socket factory,
 * so the binding's connection is the runtime's, not the worker's (see
 * egress/runtime-socket.ts). Same contract as ioredis' StandaloneConnector.
 */
import type { Socket } from 'node:net'
import type { RuntimeSocketFactory } from '../egress/runtime-socket.ts'

/** What ioredis needs of a connector (ioredis' AbstractConnector). */
export interface RedisConnector {
  connecting: boolean
  firstError?: Error
  connect(callback: unknown): Promise<Socket>
  check(info: unknown): boolean
  disconnect(): void
}

/**
 * A connector class for ioredis' `Connector` option.
 *
 * @example
 * new Redis({ host, port, Connector: connectorClass(runtimeSocket, { host, port }) })
 */
export function connectorClass(
  socketFor: RuntimeSocketFactory,
  destination: { host: string; port: number },
  disconnectTimeoutMs = 2000,
): new (
  options: unknown,
) => RedisConnector {
  return class RuntimeConnector implements RedisConnector {
    connecting = false
    firstError?: Error
    #stream: Socket | undefined

    async connect(): Promise<Socket> {
      this.connecting = true
      // As StandaloneConnector: hand the stream over in a later tick, so a
      // disconnect() in between is honoured.
      await new Promise((resolve) => process.nextTick(resolve))
      if (!this.connecting) throw new Error('Connection is closed.')
      const stream = socketFor(destination)
      stream.connect(destination.port, destination.host)
      stream.once('error', (error) => {
        this.firstError = error
      })
      this.#stream = stream
      return stream
    }

    check(): boolean {
      return true
    }

    disconnect(): void {
      this.connecting = false
      const stream = this.#stream
      if (stream === undefined) return
      const timer = setTimeout(() => stream.destroy(), disconnectTimeoutMs)
      stream.once('close', () => clearTimeout(timer))
      stream.end()
    }
  }
}
