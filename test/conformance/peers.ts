/**
 * Raw peers the public API cannot play, such as a server that resets every
 * connection. This is the one runtime-specific file of the conformance suite:
 * it uses `node:net`, which Deno and Bun also provide.
 */
import net from 'node:net'

export interface RawPeer extends AsyncDisposable {
  port: number
  /** Resolves once the peer has reset its first connection. */
  reset: Promise<void>
}

/** A TCP server on 127.0.0.1 that answers every connection with a TCP RST. */
export async function resettingPeer(): Promise<RawPeer> {
  const { promise: reset, resolve } = Promise.withResolvers<void>()
  const server = net.createServer((socket) => {
    socket.resetAndDestroy()
    resolve()
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', ok)
  })
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    reset,
    async [Symbol.asyncDispose]() {
      await new Promise<void>((ok) => server.close(() => ok()))
    },
  }
}
