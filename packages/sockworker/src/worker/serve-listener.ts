/**
 * Serves one configured listener inside a replica. TCP, TLS and HTTP
 * listeners accept from a handle the supervisor bound and shared; UDP
 * and QUIC listeners bind their own socket with SO_REUSEPORT, so that the
 * kernel keeps each flow (each QUIC connection's 4-tuple) on one replica.
 */
import { createServer, type Socket as NetSocket, type Server } from 'node:net'
import { type FlowDropEvent, listen } from '@sockworker/sockets'
import { createTlsTerminator, fromNodeSocket } from '@sockworker/sockets/node'
import type { ListenerConfig } from '../config/types.ts'
import type { readProxyHeader } from '../proxy-protocol/read-header.ts'
import { guardHttp, httpTimeouts } from './http-limits.ts'
import type { ListenerDeps } from './listener-deps.ts'
import { serveQuic } from './serve-quic.ts'

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
    config.type === 'http' ? await httpServer(deps) : await streamServer(config, name, deps)
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

async function httpServer(deps: ListenerDeps): Promise<Server> {
  const { createFetchServer } = await import('./http.ts')
  const server = createFetchServer(deps.fetch, httpTimeouts(deps.worker.limits.headerTimeoutMs))
  guardHttp(server, deps)
  return server
}

async function streamServer(
  config: ListenerConfig,
  name: string,
  deps: ListenerDeps,
): Promise<Server> {
  // The PROXY protocol's modules (six) load only for a listener that reads
  // its header, and before the first connection rather than during it.
  const readHeader =
    config.proxyProtocol === 'off'
      ? undefined
      : (await import('../proxy-protocol/read-header.ts')).readProxyHeader
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true })
  const accept = streamAcceptor(config, name, deps, readHeader)
  server.on('connection', (socket: NetSocket) => void accept(socket))
  return server
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
    ...(config.maxFlows === undefined ? {} : { maxFlows: config.maxFlows }),
    ...(config.newFlowsPerSecond === undefined
      ? {}
      : { newFlowsPerSecond: config.newFlowsPerSecond }),
  })
  listener.addEventListener('drop', (event) => {
    if ((event as FlowDropEvent).reason === 'rate') deps.metrics.udpFlowRateLimited()
    else deps.metrics.udpFlowDropped()
  })
  await listener.opened
  void (async () => {
    for await (const flow of listener) deps.dispatcher.connect(flow, name, { flow: true })
  })()
  return () => void listener.close()
}

function streamAcceptor(
  config: ListenerConfig,
  name: string,
  deps: ListenerDeps,
  readHeader: typeof readProxyHeader | undefined,
) {
  const { admission, dispatcher, log, metrics, worker } = deps
  const { handshakeTimeoutMs, headerTimeoutMs } = worker.limits
  const terminate =
    config.type === 'tls' && config.tls ? createTlsTerminator(toTlsOptions(config)) : undefined
  const startTlsMaterial = config.type === 'tcp' && config.tls ? toTlsOptions(config) : undefined
  const pending = readHeader !== undefined || terminate !== undefined
  const dispatch = (socket: NetSocket, peer?: { address: string; port: number }) =>
    dispatcher.connect(
      fromNodeSocket(socket, {
        ...(startTlsMaterial ? { tls: startTlsMaterial } : {}),
        ...(peer ? { peer } : {}),
        idleTimeout: worker.limits.idleTimeoutMs,
        allowHalfOpen: config.allowHalfOpen,
      }),
      name,
    )
  return async (raw: NetSocket) => {
    raw.on('error', () => {}) // until a Socket owns it, a reset is nobody's business
    if (!pending) return void (admission.admit() ? dispatch(raw) : raw.destroy())
    // Held from accept until the handler runs (and the dispatcher counts it):
    // a connection in its PROXY header or handshake counts against max_connections.
    const release = admission.hold('pending')
    if (release === undefined) return void raw.destroy()
    try {
      const opened = await setUp(raw)
      if (opened === undefined) return void raw.destroy()
      dispatch(opened.socket, opened.peer)
    } finally {
      release()
    }
  }

  /** The PROXY header and the TLS handshake; `undefined` when either fails. */
  async function setUp(
    raw: NetSocket,
  ): Promise<{ socket: NetSocket; peer?: { address: string; port: number } } | undefined> {
    let peer: { address: string; port: number } | undefined
    if (readHeader !== undefined && config.proxyProtocol !== 'off') {
      const read = await readHeader(raw, config.proxyProtocol, headerTimeoutMs)
      if (!read.ok) {
        // A timeout is a slow or silent client, counted in header_timeouts_total;
        // a bad header is a misconfigured proxy, worth a warning.
        if (read.timedOut) metrics.headerTimedOut()
        log[read.timedOut ? 'debug' : 'warn']('connection closed: bad PROXY protocol header', {
          listener: name,
          reason: read.reason,
        })
        return undefined
      }
      const { sourceAddress, sourcePort } = read.header
      if (sourceAddress !== undefined && sourcePort !== undefined)
        peer = { address: sourceAddress, port: sourcePort }
    }
    if (terminate === undefined) return peer ? { socket: raw, peer } : { socket: raw }
    try {
      const socket = await terminate(raw, handshakeTimeoutMs)
      return peer ? { socket, peer } : { socket }
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ETIMEDOUT') metrics.handshakeTimedOut()
      log.debug('TLS handshake failed', { listener: name, error })
      return undefined
    }
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
