/**
 * Serves one configured listener inside a replica. TCP, TLS and HTTP
 * listeners accept from a handle the supervisor bound and shared; UDP
 * and QUIC listeners bind their own socket with SO_REUSEPORT, so that the
 * kernel keeps each flow (each QUIC connection's 4-tuple) on one replica.
 */
import { createServer, type Socket as NetSocket, type Server } from 'node:net'
import { listen } from '@sockworker/sockets'
import { createTlsTerminator, fromNodeSocket } from '@sockworker/sockets/node'
import type { ListenerConfig } from '../config/types.ts'
import { readProxyHeader } from '../proxy-protocol/read-header.ts'
import type { ListenerDeps } from './listener-deps.ts'
import { serveQuic } from './serve-quic.ts'

const handshakeTimeoutMs = 10_000
const proxyHeaderTimeoutMs = 5_000

/**
 * Starts serving; resolves with a function that stops accepting. `handle`
 * is the raw listening handle the supervisor bound; closing our copy of it
 * leaves the socket, and the connections queued on it, to the next replica.
 */
export async function serveListener(
  config: ListenerConfig,
  handle: unknown,
  deps: ListenerDeps,
): Promise<() => void> {
  const name = `${config.type} ${config.hostname}:${config.port}`
  if (config.type === 'udp') return serveUdp(config, name, deps)
  if (config.type === 'quic') return serveQuic(config, name, deps)
  if (handle === undefined) throw new Error(`No listening handle for ${name}`)
  // node:http costs a replica about 16 MB and 100 ms (its ES module facade
  // loads undici), so it loads only for an HTTP listener.
  const server: Server =
    config.type === 'http'
      ? (await import('./http.ts')).createFetchServer(deps.fetch)
      : createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true })
  if (config.type !== 'http') {
    const accept = streamAcceptor(config, name, deps)
    server.on('connection', (socket: NetSocket) => void accept(socket))
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(handle as Parameters<Server['listen']>[0], () => resolve())
  })
  return () => {
    server.close()
    if ('closeIdleConnections' in server)
      (server as { closeIdleConnections(): void }).closeIdleConnections()
  }
}

async function serveUdp(
  config: ListenerConfig,
  name: string,
  deps: ListenerDeps,
): Promise<() => void> {
  const listener = listen({
    type: 'udp',
    hostname: config.hostname,
    port: config.port,
    reusePort: true,
    idleTimeout: config.idleTimeoutMs,
  })
  await listener.opened
  void (async () => {
    for await (const flow of listener) deps.dispatcher.connect(flow, name)
  })()
  return () => void listener.close()
}

function streamAcceptor(config: ListenerConfig, name: string, deps: ListenerDeps) {
  const { dispatcher, log, worker } = deps
  const terminate =
    config.type === 'tls' && config.tls ? createTlsTerminator(toTlsOptions(config)) : undefined
  const startTlsMaterial = config.type === 'tcp' && config.tls ? toTlsOptions(config) : undefined
  return async (raw: NetSocket) => {
    raw.on('error', () => {}) // until a Socket owns it, a reset is nobody's business
    if (dispatcher.active >= worker.limits.maxConnections) {
      log.warn('connection refused: max_connections reached', {
        listener: name,
        max: worker.limits.maxConnections,
      })
      raw.destroy()
      return
    }
    let peer: { address: string; port: number } | undefined
    if (config.proxyProtocol !== 'off') {
      const read = await readProxyHeader(raw, config.proxyProtocol, proxyHeaderTimeoutMs)
      if (!read.ok) {
        log.warn('connection closed: bad PROXY protocol header', {
          listener: name,
          reason: read.reason,
        })
        raw.destroy()
        return
      }
      const { sourceAddress, sourcePort } = read.header
      if (sourceAddress !== undefined && sourcePort !== undefined)
        peer = { address: sourceAddress, port: sourcePort }
    }
    let socket: NetSocket = raw
    if (terminate !== undefined) {
      try {
        socket = await terminate(raw, handshakeTimeoutMs)
      } catch (error) {
        log.debug('TLS handshake failed', { listener: name, error })
        return
      }
    }
    dispatcher.connect(
      fromNodeSocket(socket, {
        ...(startTlsMaterial ? { tls: startTlsMaterial } : {}),
        ...(peer ? { peer } : {}),
        idleTimeout: worker.limits.idleTimeoutMs,
        allowHalfOpen: config.allowHalfOpen,
      }),
      name,
    )
  }
}

function toTlsOptions(config: ListenerConfig) {
  const tls = config.tls
  if (tls === undefined) return {}
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.sni ? { sni: tls.sni } : {}),
    ...(tls.alpn ? { alpn: tls.alpn } : {}),
  }
}
