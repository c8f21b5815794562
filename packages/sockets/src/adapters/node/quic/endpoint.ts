/**
 * UDP sockets for QUIC: a client has one of its own; a server routes each
 * packet to its connection by destination connection ID and accepts new
 * ones from Initial packets.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { isIP, isIPv6 } from 'node:net'
import { SocketError } from '../../../errors.ts'
import type {
  QuicConnectRequest,
  QuicListenRequest,
  QuicServer,
  QuicServerHandler,
} from '../../../quic/platform.ts'
import { toSocketError } from '../errors.ts'
import { nodeCrypto } from '../lazy.ts'
import { initialPacket, quiche } from './binding.ts'
import { makeConfig } from './config.ts'
import { type HostPort, type PacketPath, QuicheConnection } from './connection.ts'
import { ownSocket } from './own-socket.ts'

const idLength = 20

/**
 * Kernel buffers for the UDP socket. A congestion window of packets leaves
 * in one burst (we do not pace), and the default 208 KiB receive buffer
 * drops part of it: 10% loss on loopback in our benchmark. The kernel caps
 * these at net.core.rmem_max / wmem_max.
 */
const buffers = { recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 }

/** Sends through `udp`; a lost packet is QUIC's to retransmit. */
function sender(udp: UdpSocket): PacketPath['send'] {
  return (packet, port, host) => udp.send(packet, port, host)
}

function peerOf(info: { address: string; port: number }): HostPort {
  return { host: info.address, port: info.port }
}

function matchesAddress(der: Uint8Array | undefined, address: string): boolean {
  return der !== undefined && new (nodeCrypto().X509Certificate)(der).checkIP(address) !== undefined
}

/**
 * Opens a client connection. The core gets it at once; name resolution and
 * binding happen before quiche's connection starts.
 */
export function connectQuic(request: QuicConnectRequest): QuicheConnection {
  const where = `${request.hostname}:${request.port}`
  const family = isIPv6(request.hostname) ? 6 : 4
  const udp = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ...buffers })
  const remote = { host: request.hostname, port: request.port }
  const local = { host: family === 6 ? '::' : '0.0.0.0', port: 0 }
  // Connected: the egress guard vets the peer once, and ICMP errors (a closed port) reach us.
  const path: PacketPath = {
    send: (packet) => udp.send(packet),
    gone: () => setImmediate(() => udp.close()),
  }
  const connection = new QuicheConnection(path, {
    local,
    remote,
    client: true,
    verified: request.tls.verify !== false,
    params: request.params,
    checkPeer:
      request.tls.verify === false || isIP(request.servername) === 0
        ? undefined
        : (conn) => matchesAddress(conn.peerCertChain()?.[0], request.servername),
  })
  udp.on('message', (packet, info) => connection.receive(packet, peerOf(info)))
  udp.on('error', (error) => {
    const action = connection.info().tls === undefined ? 'connect to' : 'talk to'
    connection.destroy(toSocketError(error, `${action} ${where}`))
  })
  const start = async () => {
    const config = makeConfig('client', request.tls, request.alpn, request.params)
    const { address } = await lookup(request.hostname, { family })
    remote.host = address
    await new Promise<void>((resolve) => udp.bind(0, resolve))
    await new Promise<void>((resolve, reject) =>
      udp.connect(remote.port, address, (error?: Error) => (error ? reject(error) : resolve())),
    )
    local.port = udp.address().port
    const scid = nodeCrypto().randomBytes(idLength)
    // RFC 6066 §3: no SNI for an address; the certificate is checked against it below.
    const servername = isIP(request.servername) === 0 ? request.servername : null
    connection.start(quiche().Connection.connect(servername, scid, local, remote, config))
  }
  start().catch((error: unknown) => connection.destroy(toSocketError(error, `connect to ${where}`)))
  return connection
}

/** A QUIC server on one UDP socket. */
export class QuicheServer implements QuicServer {
  handler: QuicServerHandler = { listening() {}, connection() {}, close() {} }
  readonly #udp: UdpSocket
  readonly #byId = new Map<string, QuicheConnection>()
  readonly #ids = new Map<QuicheConnection, string[]>()
  readonly #request: QuicListenRequest
  readonly #config: ReturnType<typeof makeConfig>
  #local: HostPort
  #accepting = true
  #stopped = false
  #udpClosed = false

  constructor(request: QuicListenRequest) {
    this.#request = request
    this.#config = makeConfig('server', request.tls, request.alpn, request.params)
    this.#local = { host: request.hostname, port: request.port }
    const udp = createSocket({
      type: isIPv6(request.hostname) ? 'udp6' : 'udp4',
      reuseAddr: request.reusePort,
      ...buffers,
      ...(request.reusePort ? { reusePort: true } : {}),
    })
    this.#udp = udp
    udp.on('message', (packet, info) => this.#receive(packet, peerOf(info)))
    udp.on('error', (error) =>
      this.#stop(toSocketError(error, `listen on ${request.hostname}:${request.port}`)),
    )
    udp.bind(request.port, request.hostname, () => {
      this.#local = { host: request.hostname, port: udp.address().port }
      this.handler.listening(this.#local.port)
    })
  }

  /**
   * Stops accepting at once. The connections already made carry on: on a
   * shared port each has its own socket, so the listener's closes now and
   * new connections go to the port's other listeners (a drain); otherwise
   * it stays open until the last connection is gone.
   */
  close(): void {
    if (!this.#accepting) return
    this.#accepting = false
    this.handler.close(undefined)
    if (this.#ids.size === 0) this.#stop(undefined)
    else if (this.#request.reusePort) this.#closeUdp()
  }

  #closeUdp(): void {
    if (this.#udpClosed) return
    this.#udpClosed = true
    setImmediate(() => this.#udp.close())
  }

  #receive(packet: Buffer, from: HostPort): void {
    // After the handshake every packet has a short header (RFC 9000 §17.3):
    // the first bit is 0 and our connection ID follows the first byte. It
    // is read here without asking quiche, which costs an N-API call and an
    // object per packet.
    if (packet.byteLength > idLength && (packet[0]! & 0x80) === 0) {
      this.#byId.get(packet.toString('hex', 1, 1 + idLength))?.receive(packet, from)
      return
    }
    let header: { ty: number; version: number; dcid: Uint8Array; scid: Uint8Array }
    try {
      header = quiche().Header.fromSlice(packet, idLength)
    } catch {
      return
    }
    const key = Buffer.from(header.dcid).toString('hex')
    const known = this.#byId.get(key)
    if (known !== undefined) return known.receive(packet, from)
    if (header.ty !== initialPacket || !this.#accepting) return
    if (!quiche().versionIsSupported(header.version)) {
      const out = Buffer.allocUnsafe(1500)
      const length = quiche().negotiateVersion(header.scid, header.dcid, out)
      this.#udp.send(out.subarray(0, length), from.port, from.host)
      return
    }
    this.#accept(packet, from, key)
  }

  #accept(packet: Buffer, from: HostPort, clientId: string): void {
    const scid = nodeCrypto().randomBytes(idLength)
    const conn = quiche().Connection.accept(scid, null, this.#local, from, this.#config)
    const own = this.#request.reusePort
      ? ownSocket(
          this.#udp,
          this.#local,
          from,
          { type: isIPv6(this.#local.host) ? 'udp6' : 'udp4', ...buffers },
          (packet, sender) => this.#receive(packet, sender),
        )
      : undefined
    const path: PacketPath = {
      send: own?.send ?? sender(this.#udp),
      gone: (c) => {
        own?.close()
        this.#gone(c)
      },
    }
    const connection = new QuicheConnection(path, {
      local: this.#local,
      remote: from,
      client: false,
      verified: this.#request.tls.requestCert === true,
      params: this.#request.params,
    })
    connection.start(conn)
    const ids = [scid.toString('hex'), clientId]
    for (const id of ids) this.#byId.set(id, connection)
    this.#ids.set(connection, ids)
    connection.receive(packet, from)
    // The handshake may fail at once; otherwise the core gets it now and its `open` later.
    if (this.#ids.has(connection)) this.handler.connection(connection)
  }

  #gone(connection: QuicheConnection): void {
    for (const id of this.#ids.get(connection) ?? []) this.#byId.delete(id)
    this.#ids.delete(connection)
    if (!this.#accepting && this.#ids.size === 0) this.#stop(undefined)
  }

  #stop(error: SocketError | undefined): void {
    if (this.#stopped) return
    this.#stopped = true
    const accepting = this.#accepting
    this.#accepting = false
    for (const connection of [...this.#ids.keys()]) {
      connection.destroy(error ?? new SocketError('ERR_SOCKET_CLOSED', 'The QUIC listener closed'))
    }
    this.#closeUdp()
    if (accepting) this.handler.close(error)
  }
}
