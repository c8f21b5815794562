/**
 * Interop: our QUIC client and server against ngtcp2's example peers
 * (`gtlsserver`, `gtlsclient`, Debian's ngtcp2-server and ngtcp2-client),
 * which nobody here wrote. They speak only HTTP/3, so the tests speak just
 * enough of it on our streams (test/interop/h3.ts).
 *
 * Regression (@matrixai/quic, the library whose binding we use): ngtcp2
 * opens its HTTP/3 control and QPACK unidirectional streams in the packet
 * that completes the handshake, which crashed `@matrixai/quic` with
 * `InvalidStreamState` from `processStreams`. Both tests below provoke it:
 * gtlsserver against our client, gtlsclient against our server.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, test } from 'node:test'
import { listen, type QuicConnection, Socket } from '@sockworker/sockets'
import { describeQuic } from '../conformance/quic-util.ts'
import { readAll, within } from '../conformance/util.ts'
import { type CertSet, makeCerts } from '../helpers/certs.ts'
import { freePort } from '../helpers/ports.ts'
import { spawnPeer } from '../helpers/process.ts'
import { controlStream, frames, getRequest, okResponse, status } from './h3.ts'

let certs: CertSet
before(async () => {
  certs = await makeCerts()
})

async function write(
  writable: WritableStream<ArrayBufferView | ArrayBuffer>,
  bytes: Uint8Array,
  end: boolean,
) {
  const writer = writable.getWriter()
  await writer.write(bytes)
  if (end) await writer.close()
  else writer.releaseLock()
}

describeQuic('QUIC interop with ngtcp2', () => {
  test('our client gets a 200 and the file from gtlsserver --htdocs', {
    timeout: 20_000,
  }, async () => {
    const htdocs = await mkdtemp(join(tmpdir(), 'sockworker-h3-'))
    await writeFile(join(htdocs, 'index.html'), 'hello from ngtcp2\n')
    const port = await freePort('udp')
    const args = [
      '--htdocs',
      htdocs,
      '127.0.0.1',
      String(port),
      certs.files.serverKey,
      certs.files.serverCert,
    ]
    await using _server = await spawnPeer('gtlsserver', args, { waitFor: /Using document root/ })
    await using quic = new Socket({
      type: 'quic',
      remote: { address: '127.0.0.1', port },
      alpn: ['h3'],
      tls: { ca: certs.ca },
    }) as QuicConnection
    const info = await within(quic.opened, 10_000, 'the handshake with gtlsserver')
    assert.equal(info.tls?.alpn, 'h3')
    // HTTP/3 needs a control stream (kept open) before requests are useful.
    await write(await quic.createUnidirectionalStream(), controlStream, false)
    const request = await quic.createBidirectionalStream()
    await write(request.writable, getRequest(`127.0.0.1:${port}`, '/index.html'), true)
    const response = frames(await within(readAll(request.readable), 10_000, 'the response'))
    const headers = response.find((f) => f.type === 0x01)
    assert.ok(headers, 'a HEADERS frame')
    assert.equal(status(headers.payload), 200)
    const body = response
      .filter((f) => f.type === 0x00)
      .map((f) => new TextDecoder().decode(f.payload))
    assert.equal(body.join(''), 'hello from ngtcp2\n')
    await quic.close({ closeCode: 0x100, reason: '' }) // H3_NO_ERROR
  })

  test('gtlsclient gets our response from our server', { timeout: 20_000 }, async () => {
    await using listener = listen({
      type: 'quic',
      hostname: '127.0.0.1',
      port: 0,
      tls: { ...certs.server, alpn: ['h3'] },
    })
    const { port } = await listener.opened
    const served = (async () => {
      for await (const socket of listener) {
        const connection = socket as QuicConnection
        await write(await connection.createUnidirectionalStream(), controlStream, false)
        for await (const stream of connection.incomingBidirectionalStreams) {
          const request = frames(await readAll(stream.readable))
          assert.ok(
            request.some((f) => f.type === 0x01),
            'the request has HEADERS',
          )
          await write(stream.writable, okResponse('hello from sockworker\n'), true)
          return
        }
      }
    })()
    const url = `https://127.0.0.1:${port}/hello.txt`
    const download = await mkdtemp(join(tmpdir(), 'sockworker-h3-'))
    const args = [
      '--exit-on-all-streams-close',
      `--download=${download}`,
      '127.0.0.1',
      String(port),
      url,
    ]
    await using client = await spawnPeer('gtlsclient', args, { waitFor: /:status: 200/ })
    await within(served, 10_000, 'our server to answer')
    assert.equal((await client.waitExit()).code, 0)
    assert.equal(await readFile(join(download, 'hello.txt'), 'utf8'), 'hello from sockworker\n')
  })
})
