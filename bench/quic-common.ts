/**
 * Shared set-up of the QUIC scenarios: test certificates, and the Node QUIC
 * engine's own channel API (quiche driven by our loop), which is the
 * baseline that our web-stream API is measured against.
 */
import { listen, type QuicConnection, Socket } from '@sockworker/sockets'
import { nodeQuicPlatform } from '../packages/sockets/src/adapters/node/quic/index.ts'
import type { ByteChannel, ByteChannelHandler } from '../packages/sockets/src/platform.ts'
import { resolveQuicParams } from '../packages/sockets/src/quic/options.ts'
import type { QuicConnectionChannel } from '../packages/sockets/src/quic/platform.ts'
import { makeCerts } from '../test/helpers/certs.ts'
import { HOST } from './common.ts'

export const ALPN = 'bench'

const quiet: ByteChannelHandler = { open() {}, data() {}, end() {}, idle() {}, close() {} }

/** A raw engine server; `onStream` gets each stream the client opens, resumed. */
export async function rawServer(
  res: AsyncDisposableStack,
  onStream: (stream: ByteChannel) => void,
): Promise<number> {
  const certs = await makeCerts()
  const server = nodeQuicPlatform.listenQuic({
    hostname: HOST,
    port: 0,
    reusePort: false,
    alpn: [ALPN],
    tls: certs.server,
    params: resolveQuicParams({}),
  })
  const listening = Promise.withResolvers<number>()
  const connections: QuicConnectionChannel[] = []
  server.handler = {
    listening: listening.resolve,
    connection(channel) {
      connections.push(channel)
      channel.handler = {
        open() {},
        stream(stream) {
          stream.handler = { ...quiet }
          onStream(stream)
          stream.resume()
        },
        datagram() {},
        close() {},
      }
    },
    close() {},
  }
  res.defer(() => {
    for (const c of connections) c.close({ closeCode: 0, reason: '' })
    server.close()
  })
  return listening.promise
}

/** A raw engine client with one open bidirectional stream. */
export async function rawClient(res: AsyncDisposableStack, port: number): Promise<ByteChannel> {
  const certs = await makeCerts()
  const channel = nodeQuicPlatform.connectQuic({
    hostname: HOST,
    port,
    servername: HOST,
    alpn: [ALPN],
    tls: { ca: certs.ca },
    params: resolveQuicParams({}),
  })
  const opened = Promise.withResolvers<void>()
  channel.handler = {
    open: () => opened.resolve(),
    stream() {},
    datagram() {},
    close: (_info, error) => opened.reject(error ?? new Error('closed')),
  }
  res.defer(() => channel.close({ closeCode: 0, reason: '' }))
  await opened.promise
  const stream = channel.openStream(true)
  const ready = Promise.withResolvers<void>()
  stream.handler = { ...quiet, open: () => ready.resolve() }
  await ready.promise
  return stream
}

/** Our API: a QUIC listener and a connected client. */
export async function quicPair(
  res: AsyncDisposableStack,
): Promise<{ client: QuicConnection; server: Promise<QuicConnection> }> {
  const certs = await makeCerts()
  const listener = listen({
    type: 'quic',
    hostname: HOST,
    port: 0,
    tls: { ...certs.server, alpn: [ALPN] },
  })
  res.defer(() => listener.close())
  const { port } = await listener.opened
  const server = (async () => {
    const next = await listener[Symbol.asyncIterator]().next()
    if (next.done) throw new Error('The QUIC listener closed')
    const connection = next.value as QuicConnection
    res.defer(() => connection.close())
    return connection
  })()
  server.catch(() => {})
  const client = new Socket({
    type: 'quic',
    remote: { address: HOST, port },
    alpn: [ALPN],
    tls: { ca: certs.ca },
  }) as QuicConnection
  res.defer(() => client.close())
  await client.opened
  return { client, server }
}
