/**
 * Interop: our TLS client against `openssl s_server`, a TLS server nobody
 * here wrote: plain data both ways, its `-www` status page, mutual TLS with
 * `-Verify` and ALPN with `-alpn`.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { connect, type Socket, SocketError, type SocketOptions } from '@sockworker/sockets'
import {
  decoder,
  dispose,
  encoder,
  readAll,
  readText,
  reportsTlsDetails,
  within,
} from '../conformance/util.ts'
import { type CertSet, makeCerts } from '../helpers/certs.ts'
import { type Peer, spawnPeer } from '../helpers/process.ts'

let certs: CertSet
before(async () => {
  certs = await makeCerts()
})

/**
 * Starts s_server on an ephemeral loopback port for one connection. It prints
 * "ACCEPT host:port" once listening, which gives the port without a race.
 */
async function sServer(extra: string[] = []): Promise<{ peer: Peer; port: number }> {
  const args = ['s_server', '-accept', '127.0.0.1:0', '-naccept', '1']
  args.push('-cert', certs.files.serverCert, '-key', certs.files.serverKey, ...extra)
  // stdin stays open: on EOF s_server would end the connection.
  const peer = await spawnPeer('openssl', args, { waitFor: /ACCEPT \S+:(\d+)/, stdin: 'pipe' })
  return { peer, port: Number(peer.ready?.[1]) }
}

function connectTls(port: number, options: SocketOptions = {}): Socket {
  return connect(
    { hostname: '127.0.0.1', port },
    { secureTransport: 'on', ...options, tls: { ca: certs.ca, ...options.tls } },
  )
}

async function write(socket: Socket, text: string): Promise<void> {
  const writer = socket.writable.getWriter()
  try {
    await within(writer.write(encoder.encode(text)), 5000, `writing ${JSON.stringify(text)}`)
  } finally {
    writer.releaseLock()
  }
}

async function read(socket: Socket, length: number): Promise<string> {
  const reader = socket.readable.getReader()
  try {
    return await within(readText(reader, length), 5000, `${length} bytes from s_server`)
  } finally {
    reader.releaseLock()
  }
}

describe('openssl s_server', () => {
  test('our client exchanges data with s_server both ways', async () => {
    const { peer, port } = await sServer()
    await using _ = peer
    const client = connectTls(port)
    try {
      const info = await within(client.opened, 5000, 'the handshake with s_server')
      assert.equal(info.tls?.authorized, true)
      if (reportsTlsDetails) {
        assert.equal(info.tls?.protocol, 'TLSv1.3')
        assert.match(info.tls?.peerCertificate?.subject ?? '', /CN=localhost/)
      }
      await write(client, 'hello s_server\n')
      await peer.waitFor('hello s_server')
      peer.stdin?.write('hello sockworker\n')
      assert.equal(await read(client, 'hello sockworker\n'.length), 'hello sockworker\n')

      await within(client.close(), 5000, 'the client to close')
      await peer.waitFor('CONNECTION CLOSED')
      assert.equal((await peer.waitExit()).code, 0, peer.output)
    } finally {
      await dispose(client)
    }
  })

  test('our client reads the -www status page to its end', async () => {
    const { peer, port } = await sServer(['-www'])
    await using _ = peer
    const client = connectTls(port)
    try {
      await write(client, 'GET / HTTP/1.0\r\n\r\n')
      // s_server closes after the page: the read must end, not hang.
      const page = decoder.decode(await within(readAll(client.readable), 5000, 'the whole page'))
      assert.match(page, /^HTTP\/1\.0 200 ok\r\n/)
      assert.match(page, /Protocol\s*: TLSv1\.3/)
      assert.match(page, /<\/HTML>\s*$/i, 'the page is complete')
      await within(client.closed, 5000, 'the client to close after the page')
    } finally {
      await dispose(client)
    }
  })

  test('mutual TLS: s_server -Verify 1 accepts our client certificate', async () => {
    const verify = ['-Verify', '1', '-CAfile', certs.files.ca, '-verify_return_error']
    const { peer, port } = await sServer(verify)
    await using _ = peer
    const client = connectTls(port, { tls: { cert: certs.client.cert, key: certs.client.key } })
    try {
      await within(client.opened, 5000, 'the mTLS handshake with s_server')
      await write(client, 'with a certificate\n')
      await peer.waitFor('with a certificate')
      assert.match(peer.output, /depth=0 CN = client\s+verify return:1/)
      assert.match(peer.output, /subject=CN = client/)
    } finally {
      await dispose(client)
    }
  })

  test('mutual TLS: s_server -Verify 1 refuses our client without a certificate', async () => {
    const verify = ['-Verify', '1', '-CAfile', certs.files.ca, '-verify_return_error']
    const { peer, port } = await sServer(verify)
    await using _ = peer
    const client = connectTls(port)
    try {
      // TLS 1.3: the refusal may come after our side of the handshake is done.
      const reader = client.readable.getReader()
      const [, data, closed] = await within(
        Promise.allSettled([client.opened, reader.read(), client.closed]),
        5000,
        'the refused client to close',
      )
      assert.ok(data.status === 'rejected' || data.value.done, 'no data reaches a refused client')
      assert.equal(closed.status, 'rejected', '`closed` rejects for a refused client')
      assert.ok(closed.reason instanceof SocketError, `Got ${String(closed.reason)}`)
      await peer.waitFor(/peer did not return a certificate|certificate required/i)
    } finally {
      await dispose(client)
    }
  })

  test('ALPN: s_server -alpn picks the protocol our client offered', async () => {
    const { peer, port } = await sServer(['-alpn', 'x-sockworker,h2'])
    await using _ = peer
    const client = connectTls(port, { alpn: ['http/1.1', 'x-sockworker'] })
    try {
      const info = await within(client.opened, 5000, 'the handshake with s_server')
      assert.equal(info.tls?.alpn, 'x-sockworker')
      await peer.waitFor('ALPN protocols advertised by the client: http/1.1, x-sockworker')
    } finally {
      await dispose(client)
    }
  })
})
