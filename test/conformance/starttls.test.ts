/**
 * Upgrading a plaintext connection to TLS: `startTls()` (a new socket; the old
 * one resolves `closed` and reads as `upgraded`) and `update({ type: 'tls' })`
 * (in place), on clients made with `secureTransport: 'starttls'` and on
 * sockets accepted by a TCP listener that has `tls` material.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { connect, type Socket, SocketError } from '@sockworker/sockets'
import { type CertSet, makeCerts } from '../helpers/certs.ts'
import { serve } from '../helpers/serve.ts'
import { startTlsPeer } from './peers.ts'
import {
  dispose,
  encoder,
  lacks,
  negotiate,
  readText,
  rejection,
  send,
  serverStartTlsIsUnsupported,
  within,
} from './util.ts'

let certs: CertSet
before(async () => {
  certs = await makeCerts()
})

describe('StartTLS', () => {
  test('startTls() on both ends hands the connection to new TLS sockets', async () => {
    if (lacks('server StartTLS')) return serverStartTlsIsUnsupported(certs.server)
    await using srv = await serve({ type: 'tcp', tls: certs.server })
    const client = connect(srv.address, { secureTransport: 'starttls', tls: { ca: certs.ca } })
    const sockets: Socket[] = [client]
    try {
      const accepted = await srv.accept.next()
      sockets.push(accepted)
      const info = await within(client.opened, 5000, 'the plaintext client to open')
      assert.equal(info.tls, undefined, 'no TLS before the upgrade')
      assert.equal(client.secureTransport, 'starttls')
      assert.equal(client.upgraded, false)
      await negotiate(client, accepted)

      const clientTls = client.startTls()
      const serverTls = accepted.startTls()
      sockets.push(clientTls, serverTls)
      assert.notEqual(clientTls, client, 'startTls() returns a new socket')
      assert.equal(client.upgraded, true)
      assert.equal(accepted.upgraded, true)
      await within(client.closed, 5000, "the client's plaintext socket to resolve closed")
      await within(accepted.closed, 5000, "the server's plaintext socket to resolve closed")

      const [clientInfo, serverInfo] = await within(
        Promise.all([clientTls.opened, serverTls.opened]),
        5000,
        'both TLS sockets to open',
      )
      assert.equal(clientInfo.tls?.protocol, 'TLSv1.3')
      assert.equal(clientInfo.tls?.authorized, true)
      assert.match(clientInfo.tls?.peerCertificate?.subject ?? '', /CN=localhost/)
      assert.ok(serverInfo.tls, 'the server side reports TLS')
      await send(clientTls, serverTls, 'EHLO secure\r\n')
      await send(serverTls, clientTls, '250 encrypted\r\n')
      await within(clientTls.close(), 5000, 'the TLS client to close')
      await within(serverTls.closed, 5000, 'the TLS server side to see the close')
    } finally {
      await dispose(...sockets)
    }
  })

  test('update({ type: "tls" }) upgrades both ends in place', async () => {
    if (lacks('server StartTLS')) return serverStartTlsIsUnsupported(certs.server)
    await using srv = await serve({ type: 'tcp', tls: certs.server })
    const client = connect(srv.address, { secureTransport: 'starttls' })
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      await negotiate(client, accepted)
      // The CA comes with the update, not with connect().
      await within(
        Promise.all([
          client.update({ type: 'tls', tls: { ca: certs.ca } }),
          accepted.update({ type: 'tls' }),
        ]),
        5000,
        'both ends to upgrade in place',
      )
      assert.equal(client.info.tls?.protocol, 'TLSv1.3')
      assert.equal(client.info.tls?.authorized, true)
      assert.ok(accepted.info.tls, 'the server side reports TLS')
      assert.equal(client.secureTransport, 'on')
      await send(client, accepted, 'same socket, now encrypted')
      await send(accepted, client, 'and back')
    } finally {
      await dispose(client, accepted)
    }
  })

  test('startTls() options add to those given to connect()', async () => {
    if (lacks('server StartTLS')) return serverStartTlsIsUnsupported(certs.server)
    await using srv = await serve({ type: 'tcp', tls: certs.server })
    const client = connect(srv.address, { secureTransport: 'starttls' })
    const sockets: Socket[] = [client]
    try {
      const accepted = await srv.accept.next()
      sockets.push(accepted)
      await negotiate(client, accepted)
      const clientTls = client.startTls({ sni: 'localhost', tls: { ca: certs.ca } })
      const serverTls = accepted.startTls()
      sockets.push(clientTls, serverTls)
      const [clientInfo, serverInfo] = await within(
        Promise.all([clientTls.opened, serverTls.opened]),
        5000,
        'both TLS sockets to open',
      )
      assert.equal(clientInfo.tls?.authorized, true)
      assert.equal(serverInfo.tls?.servername, 'localhost')
    } finally {
      await dispose(...sockets)
    }
  })

  test('startTls() verifies the server certificate', async () => {
    if (lacks('server StartTLS')) return serverStartTlsIsUnsupported(certs.server)
    await using srv = await serve({ type: 'tcp', tls: certs.untrusted })
    const client = connect(srv.address, { secureTransport: 'starttls', tls: { ca: certs.ca } })
    const sockets: Socket[] = [client]
    try {
      const accepted = await srv.accept.next()
      sockets.push(accepted)
      await negotiate(client, accepted)
      const clientTls = client.startTls()
      sockets.push(clientTls, accepted.startTls())
      const error = await within(rejection(clientTls.opened, 'opened'), 5000, 'opened to reject')
      assert.ok(error instanceof SocketError, `Expected a SocketError, got ${String(error)}`)
      assert.equal(error.code, 'ERR_TLS_CERT')
    } finally {
      await dispose(...sockets)
    }
  })

  test('a starttls client upgrades against a raw node:tls server', async () => {
    // The server is not ours, so this runs on every runtime, Deno included.
    await using peer = await startTlsPeer(certs.server)
    const client = connect(`127.0.0.1:${peer.port}`, {
      secureTransport: 'starttls',
      sni: 'localhost',
      tls: { ca: certs.ca },
    })
    const sockets: Socket[] = [client]
    try {
      const reader = client.readable.getReader()
      assert.equal(await readText(reader, 11), '220 ready\r\n')
      const writer = client.writable.getWriter()
      await writer.write(encoder.encode('STARTTLS\r\n'))
      assert.equal(await readText(reader, 14), '220 go ahead\r\n')
      reader.releaseLock()
      writer.releaseLock()
      const secure = client.startTls()
      sockets.push(secure)
      const info = await within(secure.opened, 5000, 'the TLS handshake')
      assert.equal(info.tls?.authorized, true)
      await secure.writable.getWriter().write(encoder.encode('EHLO secure\r\n'))
      assert.equal(await within(peer.secureLine, 5000, 'the line over TLS'), 'EHLO secure')
      assert.equal(await readText(secure.readable.getReader(), 17), '250 EHLO secure\r\n')
    } finally {
      await dispose(...sockets)
    }
  })

  test('startTls() throws at once on a socket made with secureTransport "off"', async () => {
    await using srv = await serve({ type: 'tcp', tls: certs.server })
    const client = connect(srv.address)
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      assert.throws(
        () => client.startTls(),
        (error: unknown) =>
          error instanceof TypeError &&
          /secureTransport/.test(error.message) &&
          /starttls/.test(error.message),
      )
      assert.equal(client.upgraded, false)
      await send(client, accepted, 'still usable after the mistake')
    } finally {
      await dispose(client, accepted)
    }
  })

  test('startTls() throws at once on a socket that is already TLS', async () => {
    await using srv = await serve({ type: 'tls', tls: certs.server })
    const client = connect(srv.address, { secureTransport: 'on', tls: { ca: certs.ca } })
    try {
      assert.throws(
        () => client.startTls(),
        (error: unknown) => error instanceof TypeError && /starttls/i.test(error.message),
      )
    } finally {
      await dispose(client)
    }
  })

  test('startTls() throws on an accepted socket when the listener has no tls material', async () => {
    await using srv = await serve({ type: 'tcp' })
    const client = connect(srv.address)
    let accepted: Socket | undefined
    try {
      accepted = await srv.accept.next()
      const socket = accepted
      assert.throws(
        () => socket.startTls(),
        (error: unknown) => error instanceof TypeError && /tls/i.test(error.message),
      )
      // A function, so a synchronous throw counts as well as a rejection.
      await assert.rejects(
        async () => socket.update({ type: 'tls' }),
        (error: unknown) => error instanceof TypeError && /tls/i.test(error.message),
      )
    } finally {
      await dispose(client, accepted)
    }
  })
})
