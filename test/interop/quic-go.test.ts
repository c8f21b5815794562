/**
 * Interop: our QUIC client and server against quic-go, built from Debian's
 * packages (test/interop/quic-go.ts): bidirectional and unidirectional
 * streams, datagrams, a stream reset by the peer, and application close
 * codes in both directions.
 */
import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import { isSocketError, listen, type QuicConnection, Socket } from '@sockworker/sockets'
import { describeQuic, echo } from '../conformance/quic-util.ts'
import { decoder, encoder, readAll, rejection, within } from '../conformance/util.ts'
import { type CertSet, makeCerts } from '../helpers/certs.ts'
import { spawnPeer } from '../helpers/process.ts'
import { quicGoPeer } from './quic-go.ts'

const alpn = 'sockworker-test'
let certs: CertSet
let peer: string
before(
  async () => {
    ;[certs, peer] = await Promise.all([makeCerts(), quicGoPeer()])
  },
  { timeout: 300_000 },
)

async function first<T>(readable: ReadableStream<T>, what: string): Promise<T> {
  const reader = readable.getReader()
  const { done, value } = await within(reader.read(), 5000, what)
  reader.releaseLock()
  if (done) throw new Error(`${what}: ended`)
  return value
}

async function writeAll(writable: WritableStream<ArrayBufferView | ArrayBuffer>, text: string) {
  const writer = writable.getWriter()
  await writer.write(encoder.encode(text))
  await writer.close()
}

describeQuic('QUIC interop with quic-go', () => {
  test('our client: streams both kinds, datagrams and close codes both ways', {
    timeout: 30_000,
  }, async () => {
    const args = [
      '-listen',
      '127.0.0.1:0',
      '-cert',
      certs.files.serverCert,
      '-key',
      certs.files.serverKey,
    ]
    await using server = await spawnPeer(peer, args, { waitFor: /listening (\d+)/ })
    const port = Number(server.ready?.[1])
    const connectOnce = () =>
      new Socket({
        type: 'quic',
        remote: { address: '127.0.0.1', port },
        alpn: [alpn],
        tls: { ca: certs.ca },
      }) as QuicConnection

    await using quic = connectOnce()
    assert.equal((await within(quic.opened, 5000, 'the handshake')).tls?.alpn, alpn)
    const stream = await quic.createBidirectionalStream()
    await writeAll(stream.writable, 'bidi from sockworker')
    assert.equal(decoder.decode(await readAll(stream.readable)), 'bidi from sockworker')

    await writeAll(await quic.createUnidirectionalStream(), 'uni from sockworker')
    const back = await first(quic.incomingUnidirectionalStreams, 'the echoed uni stream')
    assert.equal(decoder.decode(await readAll(back)), 'uni from sockworker')

    const datagrams = quic.datagrams.readable.getReader()
    // Loopback does not lose packets: one datagram is enough.
    await quic.datagrams
      .createWritable()
      .getWriter()
      .write(encoder.encode('datagram from sockworker'))
    const { value } = await within(datagrams.read(), 5000, 'the echoed datagram')
    assert.equal(decoder.decode(value), 'datagram from sockworker')
    datagrams.releaseLock()

    // A stream quic-go resets: the read fails with its code, on every engine.
    await quic.datagrams.createWritable().getWriter().write(encoder.encode('reset 5'))
    const reset = await first(quic.incomingBidirectionalStreams, 'the stream quic-go resets')
    const error = await within(rejection(readAll(reset.readable), 'read'), 5000, 'the reset')
    assert.ok(isSocketError(error) && error.code === 'ECONNRESET', String(error))
    assert.equal((error as { streamErrorCode?: number }).streamErrorCode, 5)

    await quic.close({ closeCode: 42, reason: 'bye from sockworker' })
    await server.waitFor('peer closed 42 "bye from sockworker"')

    // The other direction: quic-go closes when asked by a datagram.
    await using second = connectOnce()
    await second.opened
    await second.datagrams
      .createWritable()
      .getWriter()
      .write(encoder.encode('close 9 shutting down'))
    assert.deepEqual(await within(second.closeInfo, 5000, 'quic-go to close'), {
      closeCode: 9,
      reason: 'shutting down',
    })
  })

  test('quic-go client against our server', { timeout: 30_000 }, async () => {
    await using listener = listen({
      type: 'quic',
      hostname: '127.0.0.1',
      port: 0,
      tls: { ...certs.server, alpn: [alpn] },
    })
    const { port } = await listener.opened
    const accepted = (async () => {
      for await (const socket of listener) {
        const connection = socket as QuicConnection
        echo(connection)
        return connection
      }
      throw new Error('the listener ended')
    })()
    await using client = await spawnPeer(peer, [
      '-connect',
      `127.0.0.1:${port}`,
      '-ca',
      certs.files.ca,
    ])
    await client.waitFor('bidi "bidi from quic-go"')
    await client.waitFor('uni "uni from quic-go"')
    await client.waitFor('datagram "datagram from quic-go"')
    const connection = await within(accepted, 5000, 'the connection')
    assert.deepEqual(await within(connection.closeInfo, 5000, 'the close'), {
      closeCode: 7,
      reason: 'bye from quic-go',
    })
    assert.equal((await client.waitExit()).code, 0)
  })
})
