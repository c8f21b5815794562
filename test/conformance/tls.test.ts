/**
 * TLS on both sides of the public API: handshakes, SNI, ALPN, custom CAs,
 * mutual TLS, certificate verification (on by default) and `info.tls`.
 * Certificates come from test/helpers/certs.ts; every peer is our own code.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { connect, type Socket, SocketError, type SocketOptions } from '@sockworker/sockets'
import { type CertSet, makeCerts } from '../helpers/certs.ts'
import { serve } from '../helpers/serve.ts'
import {
  dispose,
  encoder,
  expectUnsupported,
  lacks,
  rejection,
  reportsTlsDetails,
  send,
  settlesWithin,
  within,
} from './util.ts'

let certs: CertSet
before(async () => {
  certs = await makeCerts()
})

/** The DER bytes of a PEM certificate, without node:crypto so the suite stays portable. */
function der(pem: string): Uint8Array {
  const base64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
}

/**
 * Connects to a TLS server with `serverTls` material and checks that `opened`
 * and `closed` both reject with ERR_TLS_CERT and a message matching `reason`.
 */
async function expectCertError(
  serverTls: { cert: string; key: string },
  options: SocketOptions,
  reason: RegExp,
): Promise<void> {
  await using srv = await serve({ type: 'tls', tls: serverTls })
  const client = connect(srv.address, { secureTransport: 'on', ...options })
  try {
    const error = await within(rejection(client.opened, 'opened'), 5000, 'opened to reject')
    assert.ok(error instanceof SocketError, `Expected a SocketError, got ${String(error)}`)
    assert.equal(error.name, 'SocketError')
    assert.equal(error.code, 'ERR_TLS_CERT')
    assert.match(error.message, reason)
    assert.notEqual(error.cause, undefined, 'the runtime error is kept as cause')
    const closedError = await within(rejection(client.closed, 'closed'), 5000, 'closed to reject')
    assert.ok(
      closedError instanceof SocketError,
      `Expected a SocketError, got ${String(closedError)}`,
    )
    assert.equal(closedError.code, 'ERR_TLS_CERT')
  } finally {
    await dispose(client)
  }
}

describe('TLS', () => {
  test('a TLS client and a TLS server exchange data both ways', async () => {
    await using srv = await serve({ type: 'tls', tls: certs.server })
    const client = connect(srv.address, { secureTransport: 'on', tls: { ca: certs.ca } })
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      const [clientInfo, serverInfo] = await within(
        Promise.all([client.opened, accepted.opened]),
        5000,
        'both ends to open',
      )
      assert.equal(clientInfo.type, 'tls')
      assert.equal(serverInfo.type, 'tls')
      assert.equal(client.secureTransport, 'on')
      await send(client, accepted, 'ping over TLS')
      await send(accepted, client, 'pong over TLS')
      await within(client.close(), 5000, 'the client to close')
      await within(accepted.closed, 5000, 'the server side to see the close')
    } finally {
      await dispose(client, accepted)
    }
  })

  test('info.tls reports protocol, cipher, ALPN and the peer certificate', async () => {
    await using srv = await serve({ type: 'tls', tls: certs.server })
    const client = connect(srv.address, { secureTransport: 'on', tls: { ca: certs.ca } })
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      const info = await within(client.opened, 5000, 'the client to open')
      const tls = info.tls
      assert.ok(tls, 'opened resolves with tls info')
      if (!reportsTlsDetails) {
        // Deno's handshake reports only ALPN: version, cipher and certificate stay unknown.
        assert.equal(tls.alpn, undefined, 'no ALPN was offered')
        assert.equal(tls.authorized, true)
        assert.equal(tls.protocol, 'unknown')
        assert.equal(tls.peerCertificate, undefined)
        return
      }
      assert.equal(tls.protocol, 'TLSv1.3')
      assert.match(tls.cipher, /AES|CHACHA20/)
      assert.equal(tls.alpn, undefined, 'no ALPN was offered')
      assert.equal(tls.authorized, true)
      const peer = tls.peerCertificate
      assert.ok(peer, 'the server sent a certificate')
      assert.match(peer.subject, /CN=localhost/)
      assert.match(peer.issuer, /CN=sockworker test CA/)
      assert.match(peer.subjectAltName ?? '', /DNS:localhost/)
      assert.match(peer.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
      assert.ok(peer.raw instanceof Uint8Array)
      assert.deepEqual([...peer.raw], [...der(certs.server.cert)])
      assert.ok(Date.parse(peer.validTo) > Date.now(), `validTo "${peer.validTo}" is a future date`)
      assert.deepEqual(client.info.tls?.protocol, tls.protocol, 'info matches what opened gave')

      const serverTls = (await within(accepted.opened, 5000, 'the server side to open')).tls
      assert.ok(serverTls, 'the accepted socket has tls info')
      assert.equal(serverTls.protocol, 'TLSv1.3')
      assert.equal(serverTls.peerCertificate, undefined, 'the client sent no certificate')
    } finally {
      await dispose(client, accepted)
    }
  })

  test('the server picks its certificate by SNI', async () => {
    if (lacks('TLS server SNI')) {
      const options = { ...certs.wrongHost, sni: { localhost: certs.server } }
      return expectUnsupported(serve({ type: 'tls', tls: options }), 'listen()')
    }
    // The default certificate is for wrong.example; only the SNI map has localhost.
    await using srv = await serve({
      type: 'tls',
      tls: { ...certs.wrongHost, sni: { localhost: certs.server } },
    })
    const client = connect(srv.address, {
      secureTransport: 'on',
      sni: 'localhost',
      tls: { ca: certs.ca },
    })
    const other = connect(srv.address, {
      secureTransport: 'on',
      sni: 'unknown.test',
      tls: { ca: certs.ca, verify: false },
    })
    const accepted: Socket[] = []
    try {
      accepted.push(await srv.accept.next(), await srv.accept.next())
      const info = await within(client.opened, 5000, 'the SNI client to open')
      assert.match(info.tls?.peerCertificate?.subject ?? '', /CN=localhost/)
      assert.equal(info.tls?.authorized, true)
      const fallback = await within(other.opened, 5000, 'the other client to open')
      assert.match(fallback.tls?.peerCertificate?.subject ?? '', /CN=wrong\.example/)

      const names = await Promise.all(
        accepted.map(async (s) => (await within(s.opened, 5000, 'accepted')).tls?.servername),
      )
      assert.deepEqual(names.sort(), ['localhost', 'unknown.test'])
    } finally {
      await dispose(client, other, ...accepted)
    }
  })

  test('ALPN is negotiated and reported on both ends', async () => {
    await using srv = await serve({
      type: 'tls',
      tls: { ...certs.server, alpn: ['h2', 'x-sockworker'] },
    })
    const client = connect(srv.address, {
      secureTransport: 'on',
      alpn: ['x-sockworker', 'http/1.1'],
      tls: { ca: certs.ca },
    })
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      const [clientInfo, serverInfo] = await within(
        Promise.all([client.opened, accepted.opened]),
        5000,
        'both ends to open',
      )
      assert.equal(clientInfo.tls?.alpn, 'x-sockworker')
      assert.equal(serverInfo.tls?.alpn, 'x-sockworker')
    } finally {
      await dispose(client, accepted)
    }
  })

  test('tls.ca accepts a string, bytes or a list', async () => {
    await using srv = await serve({ type: 'tls', tls: certs.server })
    const forms = [certs.ca, encoder.encode(certs.ca), [certs.untrusted.cert, certs.ca]]
    const clients = forms.map((ca) => connect(srv.address, { secureTransport: 'on', tls: { ca } }))
    try {
      const infos = await within(
        Promise.all(clients.map((c) => c.opened)),
        5000,
        'every client to open',
      )
      for (const info of infos) assert.equal(info.tls?.authorized, true)
    } finally {
      await dispose(...clients)
    }
  })

  test('mutual TLS: the server sees the client certificate', async () => {
    if (lacks('TLS client certificates on the server')) {
      const options = { ...certs.server, requestCert: true, ca: certs.ca }
      return expectUnsupported(serve({ type: 'tls', tls: options }), 'listen()')
    }
    await using srv = await serve({
      type: 'tls',
      tls: { ...certs.server, requestCert: true, ca: certs.ca },
    })
    const client = connect(srv.address, {
      secureTransport: 'on',
      tls: { ca: certs.ca, cert: certs.client.cert, key: certs.client.key },
    })
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      const info = await within(accepted.opened, 5000, 'the server side to open')
      assert.match(info.tls?.peerCertificate?.subject ?? '', /CN=client/)
      assert.equal(info.tls?.authorized, true)
      await send(client, accepted, 'hello from a known client')
    } finally {
      await dispose(client, accepted)
    }
  })

  test('mutual TLS: a client without a certificate is refused', async () => {
    if (lacks('TLS client certificates on the server')) {
      const options = { ...certs.server, requestCert: true, ca: certs.ca }
      return expectUnsupported(serve({ type: 'tls', tls: options }), 'listen()')
    }
    await using srv = await serve({
      type: 'tls',
      tls: { ...certs.server, requestCert: true, ca: certs.ca },
    })
    const client = connect(srv.address, { secureTransport: 'on', tls: { ca: certs.ca } })
    try {
      // In TLS 1.3 the server refuses after the client's handshake is done, so
      // `opened` may resolve; the refusal must then fail the read and `closed`.
      const reader = client.readable.getReader()
      const [, read, closed] = await within(
        Promise.allSettled([client.opened, reader.read(), client.closed]),
        5000,
        'the refused client to close',
      )
      assert.ok(read.status === 'rejected' || read.value.done, 'no data reaches a refused client')
      assert.equal(closed.status, 'rejected', '`closed` rejects for a refused client')
      const error = closed.reason
      assert.ok(error instanceof SocketError, `Expected a SocketError, got ${String(error)}`)
      assert.ok(
        ['ERR_TLS_HANDSHAKE', 'ERR_TLS_CERT', 'ECONNRESET'].includes(error.code),
        `unexpected code ${error.code}: ${error.message}`,
      )
    } finally {
      await dispose(client)
    }
  })

  test('verification is on by default: an untrusted certificate is rejected', async () => {
    await expectCertError(certs.untrusted, {}, /self[- ]signed|untrusted|unable to verify|issuer/i)
  })

  test('a certificate for another host name is rejected', async () => {
    await expectCertError(certs.wrongHost, { tls: { ca: certs.ca } }, /host|name|altname/i)
  })

  test('an expired certificate is rejected', async () => {
    await expectCertError(certs.expired, { tls: { ca: certs.ca } }, /expired/i)
  })

  test('a certificate from a CA the client was not given is rejected', async () => {
    // Trusting only the self-signed certificate must not make the real CA's leaf valid.
    await expectCertError(certs.server, { tls: { ca: certs.untrusted.cert } }, /issuer|verify/i)
  })

  test('tls.verify: false connects to an untrusted server', async () => {
    await using srv = await serve({ type: 'tls', tls: certs.untrusted })
    const client = connect(srv.address, { secureTransport: 'on', tls: { verify: false } })
    if (lacks('tls.verify: false')) {
      return expectUnsupported(client.opened, 'opened').finally(() => dispose(client))
    }
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      const info = await within(client.opened, 5000, 'the client to open')
      assert.equal(info.tls?.authorized, false)
      assert.match(info.tls?.peerCertificate?.subject ?? '', /CN=localhost/)
      await send(accepted, client, 'unverified but encrypted')
    } finally {
      await dispose(client, accepted)
    }
  })

  test('TLS data survives a large transfer intact', async () => {
    await using srv = await serve({ type: 'tls', tls: certs.server })
    const client = connect(srv.address, { secureTransport: 'on', tls: { ca: certs.ca } })
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      const text = 'sockworker '.repeat(60_000) // 660 kB: many TLS records
      await Promise.all([
        send(client, accepted, text),
        within(client.opened, 5000, 'the client to open'),
      ])
      assert.ok(client.stats.bytesSent >= text.length, `bytesSent ${client.stats.bytesSent}`)
    } finally {
      await dispose(client, accepted)
    }
  })

  test('abort() settles closed at once even when the peer reads nothing', async () => {
    // Regression: Bun's end() on a TLS socket waits to flush to the peer, so
    // an abort whose peer had stopped reading left closed pending for good.
    await using srv = await serve({ type: 'tls', tls: certs.server })
    const client = connect(srv.address, { secureTransport: 'on', tls: { ca: certs.ca } })
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      await within(client.opened, 5000, 'the client to open')
      // More than the socket buffers hold: the rest waits on our side.
      const writer = client.writable.getWriter()
      const stuck = writer.write(new Uint8Array(16 * 1024 * 1024))
      stuck.catch(() => {})
      const blocked = await settlesWithin(stuck, 200)
      assert.equal(blocked, false, 'the peer, reading nothing, holds the write up')
      const reason = new Error('give up')
      client.abort(reason)
      assert.equal(await within(rejection(client.closed, 'closed'), 2000, 'closed'), reason)
    } finally {
      await dispose(client, accepted)
    }
  })
})
