/**
 * `listen()`: TCP and TLS servers, and UDP listeners that hand out flows.
 */
import { checkHostname, checkPort } from './address.ts'
import { streamAttachment } from './attachment.ts'
import { FlowDropEvent, type FlowDropReason, SocketListener } from './listener.ts'
import { checkAlpn, checkDuration, checkHighWaterMark, checkSignal, checkTls } from './options.ts'
import { platform, type TlsParams } from './platform.ts'
import { listenQuic } from './quic/listen.ts'
import type { QuicListenOptions } from './quic/types.ts'
import { Socket } from './socket.ts'
import type { ListenOptions } from './types.ts'
import { UdpFlows } from './udp-flows.ts'

const defaultUdpFlowIdle = 30_000

/**
 * Listens for TCP connections, TLS connections, or UDP flows.
 *
 * @example
 * await using listener = listen({ type: 'tcp', port: 7000 })
 * for await (const socket of listener) {
 *   socket.readable.pipeTo(socket.writable).catch(() => {})
 * }
 */
export function listen(options: ListenOptions | QuicListenOptions = {}): SocketListener {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('Invalid listen options: expected an object such as { port: 7000 }')
  }
  if (options.type === 'quic') return listenQuic(options)
  const type = options.type ?? 'tcp'
  if (type !== 'tcp' && type !== 'tls' && type !== 'udp') {
    throw new TypeError(
      `Invalid listener type "${String(type)}": expected "tcp", "tls", "udp" or "quic"`,
    )
  }
  const hostname = checkHostname(options.hostname ?? '127.0.0.1')
  const port = checkPort(options.port ?? 0, 'port', true)
  const tls = checkTls(options.tls)
  checkAlpn(tls.alpn)
  if (
    type === 'tls' &&
    (tls.cert === undefined || tls.key === undefined) &&
    tls.sni === undefined
  ) {
    throw new TypeError('Cannot listen with type "tls" without tls.cert and tls.key (or tls.sni)')
  }
  const signal = checkSignal(options.signal)
  const backlog = options.backlog ?? 511
  checkPort(backlog, 'backlog', true)
  const socketInit = {
    allowHalfOpen: options.allowHalfOpen ?? false,
    noDelay: options.noDelay ?? true,
    highWaterMark: checkHighWaterMark(options.highWaterMark),
    idleTimeout: checkDuration(
      options.idleTimeout,
      'idleTimeout',
      type === 'udp' ? defaultUdpFlowIdle : 0,
    ),
  }
  const listener = new SocketListener(backlog)
  const request = { hostname, port, backlog, reusePort: options.reusePort ?? false }
  if (type === 'udp') {
    const maxFlows = checkFlowLimit('maxFlows', options.maxFlows)
    const newFlowsPerSecond = checkFlowLimit('newFlowsPerSecond', options.newFlowsPerSecond)
    listenUdp(listener, request, { ...socketInit, maxFlows, newFlowsPerSecond }, signal)
    return listener
  }
  const serverTls: TlsParams | undefined =
    tls.cert === undefined && tls.sni === undefined ? undefined : { role: 'server', tls }
  const server = platform().listenStream({
    ...request,
    tls: type === 'tls' ? serverTls : undefined,
  })
  server.handler = {
    listening: (boundPort) => listener.bound({ type, hostname, port: boundPort }),
    connection: (channel) => {
      channel.tune({ noDelay: socketInit.noDelay, idleTimeout: socketInit.idleTimeout })
      const upgrade = type === 'tcp' ? serverTls : undefined
      listener.accept(new Socket(socketInit, streamAttachment(type, channel, false, upgrade)))
    },
    error: () => {},
    close: (error) => listener.stopped(error),
  }
  listener.start(server, signal)
  return listener
}

/**
 * SO_RCVBUF asked for on a UDP listener. Every peer's datagrams share its
 * one socket, so while the handler thread is busy (a burst of new flows, a
 * GC pause, a loaded machine) they wait in this buffer, and past it the
 * kernel drops them from old peers and new alike. The default (208 KiB on
 * Linux) holds about 300 small datagrams, a few tens of milliseconds of a
 * flood; 4 MiB holds seconds. The kernel caps the request at
 * `net.core.rmem_max` (4 MiB on many distributions, 208 KiB on some): raising
 * that sysctl is the operator's knob, so this is not a config key.
 */
const LISTENER_RECEIVE_BUFFER = 4 * 1024 * 1024

function listenUdp(
  listener: SocketListener,
  request: { hostname: string; port: number; reusePort: boolean },
  socketInit: {
    highWaterMark: number
    idleTimeout: number
    maxFlows: number
    newFlowsPerSecond: number
  },
  signal: AbortSignal | undefined,
): void {
  const channel = platform().bindDatagram({
    localAddress: request.hostname,
    localPort: request.port,
    remote: undefined,
    reusePort: request.reusePort,
    receiveBufferSize: LISTENER_RECEIVE_BUFFER,
  })
  const init = { highWaterMark: socketInit.highWaterMark }
  const limits = {
    idleTimeout: socketInit.idleTimeout,
    maxFlows: socketInit.maxFlows,
    newFlowsPerSecond: socketInit.newFlowsPerSecond,
    drop: (address: string, port: number, reason: FlowDropReason) =>
      listener.dispatchEvent(new FlowDropEvent(address, port, reason)),
  }
  const flows = new UdpFlows(channel, limits, (attachment) =>
    listener.accept(new Socket(init, attachment)),
  )
  channel.handler = {
    listening: () => {
      const port = channel.info().localPort ?? request.port
      listener.bound({ type: 'udp', hostname: request.hostname, port })
    },
    message: (data, address, port) => flows.receive(data, address, port),
    close: (error) => {
      flows.closeAll(error)
      listener.stopped(error)
    },
  }
  listener.start(channel, signal)
}

function checkFlowLimit(name: 'maxFlows' | 'newFlowsPerSecond', value: unknown): number {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Invalid ${name} ${JSON.stringify(value)}: expected a whole number of flows, 1 or more`,
    )
  }
  return value
}
