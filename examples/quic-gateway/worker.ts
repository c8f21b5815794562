/**
 * QUIC gateway: each bidirectional QUIC stream becomes one TCP connection to
 * `env.TARGET`, bytes both ways, with half-close passed on. A TCP service
 * (Redis, PostgreSQL, an internal API) gets QUIC's multiplexing, 0-loss-of-
 * head-of-line streams and connection-level TLS in front of it.
 *
 *   sockworker dev examples/quic-gateway/worker.ts --quic 4433 \
 *     --cert cert.pem --key key.pem --alpn gateway --var TARGET=127.0.0.1:6379
 */
import {
  connect,
  type QuicBidirectionalStream,
  type QuicConnection,
  type Socket,
} from '@sockworker/sockets'

interface Env {
  TARGET?: string
}

/** One stream to one TCP connection; ends when both directions have. */
async function bridge(stream: QuicBidirectionalStream, target: string): Promise<void> {
  const tcp = connect(target, { allowHalfOpen: true })
  try {
    await Promise.all([stream.readable.pipeTo(tcp.writable), tcp.readable.pipeTo(stream.writable)])
  } catch {
    // One side failed: the other is aborted by pipeTo; nothing more to do.
  } finally {
    tcp.abort()
  }
}

export default {
  async connect(socket: Socket, env: Env): Promise<void> {
    const target = env.TARGET
    if (target === undefined) throw new Error('Set TARGET, as --var TARGET=127.0.0.1:6379')
    const quic = socket as QuicConnection
    const bridges: Promise<void>[] = []
    for await (const stream of quic.incomingBidirectionalStreams)
      bridges.push(bridge(stream, target))
    await Promise.allSettled(bridges)
  },
}
