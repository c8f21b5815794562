/**
 * Raw peers the public API cannot play, such as a server that resets every
 * connection. This is the one runtime-specific file of the conformance suite:
 * it uses `node:net` and `node:tls`, which Deno and Bun also provide.
 */
import net from 'node:net'
import tlsModule from 'node:tls'

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

export interface StartTlsPeer extends AsyncDisposable {
  port: number
  /** Resolves with the first line the client sent over TLS. */
  secureLine: Promise<string>
}

/**
 * A raw SMTP-like server that upgrades with `node:tls` after "STARTTLS": the
 * server side our API cannot play on Deno, so that the client side of
 * StartTLS is tested on every runtime. It answers its first TLS line with
 * "250 <line>".
 */
export async function startTlsPeer(tls: { cert: string; key: string }): Promise<StartTlsPeer> {
  const { promise: secureLine, resolve, reject } = Promise.withResolvers<string>()
  secureLine.catch(() => {})
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', reject)
    socket.write('220 ready\r\n')
    socket.once('data', (command) => {
      if (String(command) !== 'STARTTLS\r\n') return reject(new Error(`Got ${String(command)}`))
      // Paused, so that the ClientHello stays buffered for TLS to read.
      socket.pause()
      const secure = new tlsModule.TLSSocket(socket, { isServer: true, ...tls })
      sockets.add(secure)
      secure.on('error', reject)
      secure.once('data', (line) => {
        resolve(String(line).trim())
        secure.write(`250 ${String(line).trim()}\r\n`)
      })
      socket.write('220 go ahead\r\n')
    })
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', ok)
  })
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    secureLine,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((ok) => server.close(() => ok()))
    },
  }
}
