/**
 * End to end: `sockworker serve` with a `type = "quic"` listener and two
 * replicas sharing its UDP port (SO_REUSEPORT). Several clients, from
 * different ports, each get their streams echoed and a clean close.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type QuicConnection, Socket } from '@sockworker/sockets'
import { decoder, encoder, readAll, within } from '../conformance/util.ts'
import { makeCerts } from '../helpers/certs.ts'
import { startCli, tempProject } from './cli.ts'

const WORKER = `
import type { QuicConnection, Socket } from '@sockworker/sockets'
export default {
  async connect(socket: Socket) {
    const quic = socket as QuicConnection
    for await (const stream of quic.incomingBidirectionalStreams) {
      stream.readable.pipeTo(stream.writable).catch(() => {})
    }
  },
}
`

const CONFIG = `
[[workers]]
name = "quic-echo"
script = "worker.ts"
replicas = 2

[[workers.listeners]]
type = "quic"
address = "127.0.0.1:0"
cert = "server.crt"
key = "server.key"
alpn = ["echo"]
`

test('serve: a quic listener shared by two replicas echoes streams', {
  timeout: 90_000,
}, async () => {
  const certs = await makeCerts()
  await using project = await tempProject({
    'sockworker.toml': CONFIG,
    'worker.ts': WORKER,
    'server.crt': certs.server.cert,
    'server.key': certs.server.key,
  })
  await using cli = startCli(['serve', '--config', project.path('sockworker.toml')])
  // Two replicas start under a loaded CI machine: allow more than readyListeners' 15 s.
  const [, portText] = await cli.waitFor(/"ready","listener":"quic 127\.0\.0\.1:(\d+)"/, 60_000)
  const listener = { port: Number(portText) }
  await Promise.all(
    [0, 1, 2, 3].map(async (n) => {
      await using quic = new Socket({
        type: 'quic',
        remote: { address: '127.0.0.1', port: listener.port },
        alpn: ['echo'],
        tls: { ca: certs.ca },
      }) as QuicConnection
      await within(quic.opened, 15_000, `client ${n} to connect`)
      const stream = await quic.createBidirectionalStream()
      const writer = stream.writable.getWriter()
      await writer.write(encoder.encode(`client ${n}`))
      await writer.close()
      assert.equal(decoder.decode(await readAll(stream.readable)), `client ${n}`)
      await quic.close({ closeCode: 0, reason: 'done' })
    }),
  )
})

const TCP_STYLE = `
export default {
  async connect(socket) {
    // Written for TCP: the connection's own streams. On QUIC they are the
    // client's first bidirectional stream.
    await socket.readable.pipeTo(socket.writable)
  },
}
`

test('serve: a worker written for TCP echoes a QUIC client that uses its own readable and writable', {
  timeout: 90_000,
}, async () => {
  const certs = await makeCerts()
  await using project = await tempProject({
    'sockworker.toml': CONFIG.replace('replicas = 2', 'replicas = 1').replace(
      'worker.ts',
      'worker.js',
    ),
    'worker.js': TCP_STYLE,
    'server.crt': certs.server.cert,
    'server.key': certs.server.key,
  })
  await using cli = startCli(['serve', '--config', project.path('sockworker.toml')])
  const [, portText] = await cli.waitFor(/"ready","listener":"quic 127\.0\.0\.1:(\d+)"/, 60_000)
  await using quic = new Socket({
    type: 'quic',
    remote: { address: '127.0.0.1', port: Number(portText) },
    alpn: ['echo'],
    tls: { ca: certs.ca },
  }) as QuicConnection
  const payload = 'x'.repeat(200_000)
  const writer = quic.writable.getWriter()
  await writer.write(encoder.encode(payload))
  await writer.close()
  // The handler returns once its pipe ends, and the runtime then closes the
  // connection: what the pipe wrote must reach the client first.
  const echoed = decoder.decode(await within(readAll(quic.readable), 15_000, 'the echo'))
  assert.equal(echoed.length, payload.length)
  assert.equal(echoed, payload)
})
