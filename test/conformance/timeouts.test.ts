/**
 * connectTimeout and idleTimeout end a socket with a SocketError ETIMEDOUT.
 *
 * Blackhole addresses are not reachable from the test network, so a hanging
 * connect is made on loopback: a plain TCP server that accepts and never
 * answers, while the client waits for a TLS handshake (secureTransport 'on').
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, SocketError } from '@sockworker/sockets'
import {
  dispose,
  echoServer,
  encoder,
  limit,
  readText,
  rejection,
  server,
  settlesWithin,
  within,
} from './util.ts'

function assertTimedOut(error: unknown): void {
  assert.ok(error instanceof SocketError, `expected a SocketError, got ${String(error)}`)
  assert.equal(error.code, 'ETIMEDOUT')
  assert.equal(error.name, 'SocketError')
}

test(
  'connectTimeout rejects opened and closed with ETIMEDOUT when the handshake hangs',
  limit,
  async () => {
    await using silent = await server()
    const started = performance.now()
    const socket = connect(silent.address, { secureTransport: 'on', connectTimeout: 200 })
    await silent.accept.next() // accepted, then never read from nor written to
    const [opened, closed] = await within(
      Promise.all([rejection(socket.opened, 'opened'), rejection(socket.closed, 'closed')]),
      5000,
      'the connect timeout',
    )
    const elapsed = performance.now() - started
    assertTimedOut(opened)
    assertTimedOut(closed)
    assert.ok(elapsed >= 150, `timed out after ${elapsed} ms, before the 200 ms connectTimeout`)
  },
)

test('connectTimeout does not fire once the socket is open', limit, async () => {
  await using echo = await echoServer()
  const socket = connect(echo.address, { connectTimeout: 100 })
  try {
    await within(socket.opened, 5000, 'opened')
    // Must-not-happen check: nothing signals "the timer did not fire", so give it
    // three times its delay to end the socket by mistake.
    assert.equal(
      await settlesWithin(socket.closed, 300),
      false,
      'connectTimeout ended an open socket',
    )
    await socket.writable.getWriter().write(encoder.encode('alive'))
    assert.equal(await readText(socket.readable.getReader(), 5), 'alive')
  } finally {
    await dispose(socket)
  }
})

test('idleTimeout closes an idle socket: closed rejects with ETIMEDOUT', limit, async () => {
  await using s = await server()
  const socket = connect(s.address, { idleTimeout: 200 })
  await within(socket.opened, 5000, 'opened')
  const started = performance.now()
  const accepted = await s.accept.next()
  const closed = await within(rejection(socket.closed, 'closed'), 5000, 'the idle timeout')
  const elapsed = performance.now() - started
  assertTimedOut(closed)
  assert.ok(elapsed >= 150, `closed after ${elapsed} ms, before the 200 ms idleTimeout`)
  // The peer sees the connection end.
  const reader = accepted.readable.getReader()
  const end = await within(
    reader.read().catch(() => ({ done: true })),
    5000,
    'the peer to see the end',
  )
  assert.equal(end.done, true)
})

test('listen({ idleTimeout }) closes idle accepted sockets', limit, async () => {
  await using s = await server({ idleTimeout: 200 })
  const socket = connect(s.address)
  try {
    await within(socket.opened, 5000, 'opened')
    const accepted = await s.accept.next()
    const closed = await within(rejection(accepted.closed, 'closed'), 5000, 'the idle timeout')
    assertTimedOut(closed)
    const reader = socket.readable.getReader()
    const end = await within(
      reader.read().catch(() => ({ done: true })),
      5000,
      'the client to see the end',
    )
    assert.equal(end.done, true)
  } finally {
    await dispose(socket)
  }
})
