/**
 * Serves a QUIC listener inside a replica. Like UDP, each replica binds its
 * own socket with SO_REUSEPORT: the kernel hashes the client's address and
 * port to one replica. Each accepted connection then gets a socket of its
 * own, connected to its client, which keeps its packets on this replica
 * when replicas come and go (adapters/node/quic/own-socket.ts; we also
 * disable connection migration, which would break that).
 *
 * A drain (reload, SIGTERM) closes the listener: new connections go to the
 * replicas that remain, and open ones carry on until their handlers
 * return. At the drain deadline, those still open are closed with code 0
 * and a reason, so that their clients know at once rather than after
 * their idle timeout.
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
  const shutdown = deps.fetch.shutdown
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
  const open = new Set<QuicConnection>()
  shutdown.addEventListener(
    'abort',
    () => {
      for (const connection of open) {
        connection.close({ closeCode: 0, reason: 'the server is shutting down' }).catch(() => {})
      }
    },
    { once: true },
  )
  void (async () => {
    for await (const socket of listener) {
      const connection = socket as QuicConnection
      if (!admission.admit()) {
        // 0x2 is CONNECTION_REFUSED among QUIC's transport codes; as an application code it says the same.
        void connection.close({ closeCode: 2, reason: 'max_connections reached' })
        continue
      }
      open.add(connection)
      connection.closed.then(
        () => open.delete(connection),
        () => open.delete(connection),
      )
      dispatcher.connect(connection, name)
    }
  })()
  return () => void listener.close()
}
