/**
 * End to end: examples/quic-gateway under `sockworker dev --quic`. A QUIC
 * client (our API) opens three streams; each must become its own TCP
 * connection to the target (a node:net echo server) and come back intact.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type AddressInfo, createServer } from 'node:net'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type QuicConnection, Socket } from '@sockworker/sockets'
import { pattern, readAll, within } from '../conformance/util.ts'
import { makeCerts } from '../helpers/certs.ts'
import { readyListeners, startCli } from './cli.ts'

const worker = fileURLToPath(new URL('../../examples/quic-gateway/worker.ts', import.meta.url))

test('each QUIC stream reaches TARGET over its own TCP connection', {
  timeout: 60_000,
}, async () => {
  const certs = await makeCerts()
  let connections = 0
  const target = createServer({ allowHalfOpen: true }, (socket) => {
    connections++
    socket.pipe(socket)
  })
  target.listen(0, '127.0.0.1')
  await once(target, 'listening')
  const { port: targetPort } = target.address() as AddressInfo
  try {
    const args = [
      'dev',
      worker,
      '--quic',
      '0',
      '--alpn',
      'gateway',
      '--cert',
      certs.files.serverCert,
      '--key',
      certs.files.serverKey,
      '--var',
      `TARGET=127.0.0.1:${targetPort}`,
    ]
    await using cli = startCli(args)
    const [listener] = await readyListeners(cli, 1)
    assert.equal(listener?.type, 'quic')
    await using quic = new Socket({
      type: 'quic',
      remote: { address: '127.0.0.1', port: listener!.port },
      alpn: ['gateway'],
      tls: { ca: certs.ca },
    }) as QuicConnection
    await within(quic.opened, 10_000, 'the QUIC handshake with the gateway')
    await within(
      Promise.all(
        [0, 1, 2].map(async (seed) => {
          const stream = await quic.createBidirectionalStream()
          const data = pattern(256 * 1024, seed * 1000)
          const writer = stream.writable.getWriter()
          const [, echoed] = await Promise.all([
            writer.write(data).then(() => writer.close()),
            readAll(stream.readable),
          ])
          assert.deepEqual(echoed, data)
        }),
      ),
      30_000,
      'three streams through the gateway',
    )
    assert.equal(connections, 3)
    await quic.close({ closeCode: 0, reason: 'done' })
  } finally {
    target.close()
  }
})
