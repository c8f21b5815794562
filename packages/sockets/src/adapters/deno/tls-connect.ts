/**
 * Opening client connections: TCP, TLS from the first byte, and the TLS
 * upgrade of an open TCP connection. Deno verifies the server against the
 * name given to `Deno.startTls()`, which may differ from the address dialled,
 * so TLS is started over `Deno.connect()` unless a client certificate forces
 * `Deno.connectTls()` (the only one of the two that takes one).
 */
import type { StreamConnectRequest, TlsParams } from '../../platform.ts'
import type { TlsInfo } from '../../types.ts'
import { type Conn, Deno, type TcpConn } from './deno-api.ts'
import { denoUnsupported } from './errors.ts'
import { clientTls, describeTls } from './tls.ts'

/** A connection the channel can use: open, and past its TLS handshake if any. */
export interface OpenConn {
  conn: Conn
  /**
   * The plain TCP connection, for socket options and StartTLS. Undefined
   * once TLS is up: Deno's `TlsConn` exposes neither, so the options a TLS
   * client needs are set before its handshake.
   */
  tcp: TcpConn | undefined
  tls: TlsInfo | undefined
}

/** Connects, and when `request.tls` is set, completes the TLS handshake. */
export async function openConn(
  request: StreamConnectRequest,
  signal: AbortSignal,
): Promise<OpenConn> {
  const { hostname, port, tls } = request
  if (tls !== undefined) {
    const options = clientTls(tls, hostname)
    if (options.cert !== undefined) {
      if (options.hostname !== hostname) {
        throw denoUnsupported(
          'a TLS client certificate together with an SNI name other than the host name',
          'connect to the name the certificate is for',
        )
      }
      const conn = await Deno.connectTls({ ...options, hostname, port })
      const { alpnProtocol } = await conn.handshake()
      return { conn, tcp: undefined, tls: describeTls('client', alpnProtocol, options.hostname) }
    }
  }
  const tcp = await Deno.connect({ hostname, port, signal })
  if (tls === undefined) return { conn: tcp, tcp, tls: undefined }
  // A connect timeout or an abort during the handshake must not leave it running.
  const giveUp = () => closeQuietly(tcp)
  signal.addEventListener('abort', giveUp, { once: true })
  // Socket options outlive the upgrade, but the TCP handle does not: set them now.
  tcp.setNoDelay(request.noDelay ?? true)
  if (request.keepAlive !== undefined) tcp.setKeepAlive(request.keepAlive !== false)
  try {
    return await upgradeToTls(tcp, tls, hostname)
  } catch (error) {
    closeQuietly(tcp)
    throw error
  } finally {
    signal.removeEventListener('abort', giveUp)
  }
}

/** `Deno.startTls()` and its handshake. `host` is the name to verify when no SNI was given. */
export async function upgradeToTls(
  tcp: TcpConn,
  params: TlsParams,
  host: string,
): Promise<OpenConn> {
  const options = clientTls(params, host)
  if (options.cert !== undefined) {
    throw denoUnsupported(
      'a TLS client certificate with StartTLS (Deno.startTls takes none)',
      'connect with secureTransport: "on" instead',
    )
  }
  const conn = await Deno.startTls(tcp, options)
  const { alpnProtocol } = await conn.handshake()
  return { conn, tcp: undefined, tls: describeTls('client', alpnProtocol, options.hostname) }
}

function closeQuietly(conn: TcpConn): void {
  try {
    conn.close()
  } catch {
    // Consumed by Deno.startTls, or already closed.
  }
}
