/**
 * End to end: a QUIC client's streams and datagrams through `sockworker
 * serve` show in its Prometheus figures, per direction and kind, once its
 * connection closes (as bytes do).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type QuicConnection, Socket } from '@sockworker/sockets'
import { decoder, encoder, readAll, within } from '../conformance/util.ts'
import { makeCerts } from '../helpers/certs.ts'
import { jsonLog, serveProject } from './support/harness.ts'
import { scrapeUntil } from './support/metrics.ts'

// Echoes bidirectional streams in place, each unidirectional stream on a
// unidirectional stream of its own, and each datagram as a datagram.
const WORKER = `
export default {
  async connect(quic) {
    const bidi = (async () => {
      for await (const stream of quic.incomingBidirectionalStreams) {
        stream.readable.pipeTo(stream.writable).catch(() => {})
      }
    })()
    const uni = (async () => {
      for await (const readable of quic.incomingUnidirectionalStreams) {
        const writable = await quic.createUnidirectionalStream()
        readable.pipeTo(writable).catch(() => {})
      }
    })()
    const datagrams = (async () => {
      const writer = quic.datagrams.createWritable().getWriter()
      for await (const datagram of quic.datagrams.readable) await writer.write(datagram)
    })()
    await Promise.allSettled([bidi, uni, datagrams])
  },
}
`

const CONFIG = `${jsonLog}
[metrics]
listen = "127.0.0.1:0"

[[workers]]
name = "m"
script = "worker.js"

[[workers.listeners]]
type = "quic"
address = "127.0.0.1:0"
cert = "server.crt"
key = "server.key"
alpn = ["echo"]
`

test('metrics: QUIC streams by direction and kind, and datagrams each way', {
  timeout: 90_000,
}, async () => {
  const certs = await makeCerts()
  await using served = await serveProject(
    {
      'sockworker.toml': CONFIG,
      'worker.js': WORKER,
      'server.crt': certs.server.cert,
      'server.key': certs.server.key,
    },
    1,
  )
  const [port = 0] = served.ports
  const url = served.metricsUrl ?? ''
  const quic = new Socket({
    type: 'quic',
    remote: { address: '127.0.0.1', port },
    alpn: ['echo'],
    tls: { ca: certs.ca },
  }) as QuicConnection
  await within(quic.opened, 15_000, 'the client to connect')

  const echo = async (text: string) => {
    const stream = await quic.createBidirectionalStream()
    const writer = stream.writable.getWriter()
    await writer.write(encoder.encode(text))
    await writer.close()
    assert.equal(decoder.decode(await readAll(stream.readable)), text)
  }
  await echo('one')
  await echo('two')

  const incoming = quic.incomingUnidirectionalStreams.getReader()
  const uni = (await quic.createUnidirectionalStream()).getWriter()
  await uni.write(encoder.encode('uni'))
  await uni.close()
  const { value: back } = await within(incoming.read(), 5000, 'the echoed unidirectional stream')
  assert.ok(back !== undefined)
  assert.equal(decoder.decode(await readAll(back)), 'uni')

  const reader = quic.datagrams.readable.getReader()
  const writer = quic.datagrams.createWritable().getWriter()
  // Loopback does not lose packets: each datagram sent comes back.
  for (let i = 0; i < 3; i++) {
    await writer.write(encoder.encode(`datagram ${i}`))
    const { value } = await within(reader.read(), 5000, `datagram ${i} echoed`)
    assert.equal(decoder.decode(value), `datagram ${i}`)
  }
  await quic.close({ closeCode: 0, reason: 'done' })

  const figure = await scrapeUntil(
    url,
    (f) => f('handler_duration_seconds_count') === 1,
    'the QUIC connection closed',
  )
  assert.equal(figure('connections_total'), 1)
  assert.equal(figure('quic_streams_total[incoming,bidirectional]'), 2)
  assert.equal(figure('quic_streams_total[incoming,unidirectional]'), 1)
  assert.equal(figure('quic_streams_total[outgoing,bidirectional]'), 0)
  assert.equal(figure('quic_streams_total[outgoing,unidirectional]'), 1)
  assert.equal(figure('quic_datagrams_received_total'), 3)
  assert.equal(figure('quic_datagrams_sent_total'), 3)
  // The client's own stats count the same, seen from its side.
  const stats = quic.stats
  assert.equal(stats.outgoingBidirectionalStreams, 2)
  assert.equal(stats.outgoingUnidirectionalStreams, 1)
  assert.equal(stats.incomingUnidirectionalStreams, 1)
  assert.equal(stats.datagramsSent, 3)
  assert.equal(stats.datagramsReceived, 3)
  assert.ok(figure('bytes_in_total') > 0)
})
