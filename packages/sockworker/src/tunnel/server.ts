/**
 * The `sockworker tunnel serve` daemon: an HTTP(S) server that takes
 * WebSocket upgrades, checks the token before anything else happens, and
 * relays each accepted WebSocket to one TCP connection to the target.
 *
 * A refused upgrade gets a plain 401 and never causes a connection to the
 * target. A plain HTTP request gets 401 (bad token) or 426 (good token, but
 * not a WebSocket): clients use that to tell a refused token from an
 * unreachable daemon, which a WebSocket API reports alike.
 */
import { once } from 'node:events'
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { toSocketError } from '@sockworker/sockets/node'
import { type WebSocket, WebSocketServer } from 'ws'
import { selectProtocol, tokenCheck } from './auth.ts'
import { type Relay, type RelayTarget, startRelay } from './relay.ts'

export interface TunnelServerOptions {
  listen: { hostname: string; port: number }
  target: RelayTarget
  /** Default: no token needed. */
  token?: string | undefined
  /** Serve wss:// with this certificate and key (PEM). Default: ws://. */
  tls?: { cert: string; key: string } | undefined
  /** One line per event: refusals, connections opening and closing. */
  log: (line: string) => void
}

export interface TunnelServer {
  /** Where it listens (the real port when asked for port 0). */
  hostname: string
  port: number
  /** Stops listening, ends every connection (close 1001), and resolves when all are gone. */
  close(): Promise<void>
}

/** Enough for one message of `tunnelWire.maxMessage` and more from other clients. */
const maxPayload = 16 << 20
/** How often idle clients are pinged; one missed pong ends the connection. */
const heartbeatMs = 30_000
/** How long a stopping daemon waits for clients to answer its close frame. */
const shutdownGraceMs = 2000

/**
 * Starts the daemon.
 *
 * @throws SocketError when it cannot listen (address in use, say).
 * @example
 * const server = await startTunnelServer({ listen: { hostname: '0.0.0.0', port: 8443 },
 *   target: { hostname: '127.0.0.1', port: 5432, label: '127.0.0.1:5432' }, token, log: console.log })
 */
export async function startTunnelServer(options: TunnelServerOptions): Promise<TunnelServer> {
  const { log, target } = options
  const check = tokenCheck(options.token)
  const server: Server = options.tls ? createHttpsServer(options.tls) : createHttpServer()
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: selectProtocol,
  })
  const relays = new Map<WebSocket, Relay>()
  const heartbeat = keepAlive(relays)
  let nextId = 1

  server.on('request', (request, response) => {
    const refusal = check(request)
    response.writeHead(refusal ? 401 : 426, { 'content-type': 'text/plain', connection: 'close' })
    response.end(
      refusal ? `${refusal}\n` : 'This is a sockworker tunnel: connect with a WebSocket\n',
    )
  })
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    const peer = `${request.socket.remoteAddress}:${request.socket.remotePort}`
    const refusal = check(request)
    if (refusal !== undefined) {
      log(`refused ${peer}: ${refusal}`)
      refuse(socket, refusal)
      return
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const id = nextId++
      const started = performance.now()
      log(`open ${id} ${peer} -> ${target.label}`)
      const relay = startRelay(ws, target)
      relays.set(ws, relay)
      heartbeat.watch(ws)
      void relay.done.then(({ toTarget, fromTarget, error }) => {
        relays.delete(ws)
        const ms = Math.round(performance.now() - started)
        const why = error === undefined ? '' : `: ${error}`
        log(`close ${id} ${peer}, ${toTarget} bytes in, ${fromTarget} bytes out, ${ms} ms${why}`)
      })
    })
  })

  try {
    await listen(server, options.listen)
  } catch (error) {
    heartbeat.stop()
    throw error
  }
  const address = server.address() as { address: string; port: number }
  return {
    hostname: address.address,
    port: address.port,
    async close() {
      heartbeat.stop()
      const closed = new Promise((resolve) => server.close(resolve))
      const pending = [...relays.values()]
      for (const relay of pending) relay.shutdown()
      const grace = setTimeout(() => {
        for (const ws of relays.keys()) ws.terminate()
      }, shutdownGraceMs)
      await Promise.all(pending.map((relay) => relay.done))
      clearTimeout(grace)
      server.closeAllConnections()
      await closed
    },
  }
}

async function listen(server: Server, at: { hostname: string; port: number }): Promise<void> {
  server.listen(at.port, at.hostname)
  try {
    await once(server, 'listening')
  } catch (error) {
    throw toSocketError(error, `listen on ${at.hostname}:${at.port}`)
  }
}

/** A 401 on the raw socket: the WebSocket never opens, and the target never hears of it. */
function refuse(socket: Duplex, refusal: string): void {
  const body = `${refusal}\n`
  socket.end(
    'HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}

/** Pings every client now and then; one that did not answer the last ping is gone. */
function keepAlive(relays: Map<WebSocket, Relay>) {
  const alive = new WeakSet<WebSocket>()
  const timer = setInterval(() => {
    for (const ws of relays.keys()) {
      if (!alive.delete(ws)) ws.terminate()
      else ws.ping()
    }
  }, heartbeatMs)
  timer.unref()
  return {
    watch(ws: WebSocket) {
      alive.add(ws)
      ws.on('pong', () => alive.add(ws))
    },
    stop: () => clearInterval(timer),
  }
}
