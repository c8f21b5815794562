/**
 * Serves a QUIC listener inside a replica. Like UDP, each replica binds its
 * own socket with SO_REUSEPORT: the kernel hashes the client's address and
 * port to one replica, and so keeps a connection's packets together (we
 * disable connection migration, which would break that).
 */
import { listen, type QuicConnection } from '@sockworker/sockets'
import type { ListenerConfig } from '../config/types.ts'
import type { ListenerDeps } from './listener-deps.ts'

export async function serveQuic(
  config: ListenerConfig,
  name: string,
  deps: ListenerDeps,
): Promise<() => void> {
  const { admission, dispatcher } = deps
  const tls = config.tls
  if (tls === undefined || tls.alpn === undefined) {
    throw new Error(`The quic listener ${name} has no certificate or ALPN`)
  }
  const listener = listen({
    type: 'quic',
    hostname: config.hostname,
    port: config.port,
    reusePort: true,
    tls: { cert: tls.cert, key: tls.key, alpn: tls.alpn },
    idleTimeout: config.idleTimeoutMs || 30_000,
  })
  await listener.opened
  void (async () => {
    for await (const socket of listener) {
      const connection = socket as QuicConnection
      if (!admission.admit()) {
        // 0x2 is CONNECTION_REFUSED among QUIC's transport codes; as an application code it says the same.
        void connection.close({ closeCode: 2, reason: 'max_connections reached' })
        continue
      }
      dispatcher.connect(connection, name)
    }
  })()
  return () => void listener.close()
}
