/**
 * QUIC connection lifecycle: idle timeout, keep-alive, abort through
 * `signal`, and a peer that never answers.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isSocketError, listen, type QuicConnection, Socket } from '@sockworker/sockets'
import { makeCerts } from '../helpers/certs.ts'
import { alpn, describeQuic, echo, quicClient, quicServer } from './quic-util.ts'
import {
  expectUnsupported,
  lacks,
  limit,
  readAll,
  rejection,
  settlesWithin,
  within,
} from './util.ts'

describeQuic('QUIC lifecycle', () => {
  test('an idle connection closes with ETIMEDOUT on both sides', limit, async () => {
    await using server = await quicServer({ idleTimeout: 300 })
    await using client = await quicClient(server.port, { idleTimeout: 300 })
    await client.opened
    const accepted = await server.next()
    const [clientError, serverError] = await within(
      Promise.all([
        rejection(client.closed, 'client closed'),
        rejection(accepted.closed, 'server closed'),
      ]),
      5000,
      'the idle timeout',
    )
    for (const error of [clientError, serverError]) {
      assert.ok(isSocketError(error) && error.code === 'ETIMEDOUT', String(error))
      assert.match((error as Error).message, /idleTimeout/)
    }
  })

  test('idleTimeout: 0 on both sides opens, and carries a stream', limit, async () => {
    // Deno's quinn took a server's maxIdleTimeout of 0 as "time out at
    // once": every handshake failed and the client waited for connectTimeout.
    await using server = await quicServer({ idleTimeout: 0 })
    await using client = await quicClient(server.port, { idleTimeout: 0 })
    await within(client.opened, 5000, 'the handshake')
    echo(await server.next())
    const stream = await client.createBidirectionalStream()
    const writer = stream.writable.getWriter()
    await writer.write(new TextEncoder().encode('never idle'))
    await writer.close()
    assert.equal(new TextDecoder().decode(await readAll(stream.readable)), 'never idle')
  })

  test('keepAlive keeps an idle connection open past idleTimeout', limit, async () => {
    await using server = await quicServer({ idleTimeout: 400 })
    await using client = await quicClient(server.port, { idleTimeout: 400, keepAlive: 100 })
    await client.opened
    // A "must not happen" check: no event says that a timeout did not fire.
    assert.equal(
      await settlesWithin(client.closed, 1500),
      false,
      'still open after 3 idle timeouts',
    )
  })

  test(
    'aborting the signal aborts the connection and rejects closed with its reason',
    limit,
    async () => {
      await using server = await quicServer()
      const controller = new AbortController()
      await using client = await quicClient(server.port, { signal: controller.signal })
      await client.opened
      const accepted = await server.next()
      const stream = await client.createBidirectionalStream()
      const reason = new Error('enough')
      controller.abort(reason)
      assert.equal(await rejection(client.closed, 'closed'), reason)
      assert.equal(await rejection(stream.readable.getReader().read(), 'a read'), reason)
      // The peer learns of it as an application close.
      const info = await within(accepted.closeInfo, 5000, 'the server to see the abort')
      assert.equal(info.reason, 'aborted')
    },
  )

  test('an already aborted signal never opens', limit, async () => {
    const reason = new Error('before')
    await using client = await quicClient(9, { signal: AbortSignal.abort(reason) })
    assert.equal(await rejection(client.opened, 'opened'), reason)
  })

  test(
    'a peer that never answers fails opened with ETIMEDOUT after connectTimeout',
    limit,
    async () => {
      // A UDP socket that reads nothing: every Initial goes unanswered.
      const silent = listen({ type: 'udp', hostname: '127.0.0.1', port: 0 })
      const { port } = await silent.opened
      try {
        await using client = await quicClient(port, { connectTimeout: 300 })
        const error = await within(rejection(client.opened, 'opened'), 5000, 'the timeout')
        assert.ok(isSocketError(error) && error.code === 'ETIMEDOUT', String(error))
        assert.match((error as Error).message, /connectTimeout/)
      } finally {
        await silent.close()
      }
    },
  )

  test('two QUIC listeners with reusePort bind one port', limit, async () => {
    const certs = await makeCerts()
    const tls = { ...certs.server, alpn: [alpn] }
    if (lacks('QUIC listener reusePort, requestCert')) {
      for (const [what, options] of [
        ['reusePort', { reusePort: true, tls }],
        ['tls.requestCert', { tls: { ...tls, requestCert: true, ca: certs.ca } }],
      ] as const) {
        const listener = listen({ type: 'quic', port: 0, ...options })
        await expectUnsupported(listener.opened, `listen with ${what}`)
      }
      return
    }
    await using first = await quicServer({ reusePort: true })
    const second = listen({ type: 'quic', port: first.port, reusePort: true, tls })
    try {
      assert.equal((await within(second.opened, 5000, 'the second listener')).port, first.port)
    } finally {
      await second.close()
    }
  })

  test('a tls.sni map on a QUIC listener is refused, not ignored', {
    ...limit,
    skip: !lacks('QUIC listener tls.sni') && 'SNI on QUIC listeners is supported',
  }, async () => {
    const certs = await makeCerts()
    const tls = { ...certs.server, alpn: [alpn], sni: { localhost: certs.server } }
    const listener = listen({ type: 'quic', port: 0, tls })
    await expectUnsupported(listener.opened, 'listen with tls.sni')
  })

  test('closing the listener stops accepting; open connections carry on', limit, async () => {
    await using server = await quicServer()
    await using client = await quicClient(server.port)
    await client.opened
    const accepted = await server.next()
    await within(server.listener.close(), 5000, 'the listener to close')
    const stream = await accepted.createBidirectionalStream()
    const writer = stream.writable.getWriter()
    await writer.write(new TextEncoder().encode('still here'))
    const reader = client.incomingBidirectionalStreams.getReader()
    const { value } = await within(reader.read(), 5000, 'a stream after the listener closed')
    assert.ok(value)
    // A new client finds no listener and times out.
    const late = new Socket({
      type: 'quic',
      remote: { address: '127.0.0.1', port: server.port },
      alpn: [alpn],
      connectTimeout: 300,
    }) as QuicConnection
    assert.ok(isSocketError(await rejection(late.opened, 'opened')))
  })
})
