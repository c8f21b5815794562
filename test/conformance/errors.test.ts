/**
 * Network failures reject `opened` and `closed` with a `SocketError` that has
 * a stable `code`, a `cause` and a useful message; `closed` never rejects with
 * `undefined`.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, listen, SocketError } from '@sockworker/sockets'
import { resettingPeer } from './peers.ts'
import { limit, rejection, within } from './util.ts'

function assertSocketError(error: unknown, code: string, ...fragments: string[]): void {
  assert.ok(error instanceof SocketError, `expected a SocketError, got ${String(error)}`)
  assert.ok(error instanceof Error)
  assert.equal(error.name, 'SocketError')
  assert.equal(error.code, code)
  assert.notEqual(error.cause, undefined, 'a SocketError keeps the runtime error as its cause')
  assert.equal(typeof error.message, 'string')
  for (const fragment of fragments) {
    assert.ok(
      error.message.includes(fragment),
      `message ${JSON.stringify(error.message)} should contain ${JSON.stringify(fragment)}`,
    )
  }
}

/** A loopback port that was just closed, so nothing listens there. */
async function closedPort(): Promise<number> {
  const listener = listen({ hostname: '127.0.0.1', port: 0 })
  const { port } = await listener.opened
  await listener.close()
  return port
}

test('connecting to a closed port rejects opened and closed with ECONNREFUSED', limit, async () => {
  const port = await closedPort()
  const socket = connect(`127.0.0.1:${port}`)
  const [opened, closed] = await within(
    Promise.all([rejection(socket.opened, 'opened'), rejection(socket.closed, 'closed')]),
    5000,
    'the connection to fail',
  )
  assertSocketError(opened, 'ECONNREFUSED', String(port))
  assertSocketError(closed, 'ECONNREFUSED')
})

test('a failed connection fires an error event and errors both streams', limit, async () => {
  const port = await closedPort()
  const socket = connect(`127.0.0.1:${port}`)
  const errorEvent = new Promise((resolve) =>
    socket.addEventListener('error', resolve, { once: true }),
  )
  const closed = rejection(socket.closed, 'closed')
  const read = rejection(socket.readable.getReader().read(), 'a read')
  const ready = rejection(socket.writable.getWriter().ready, 'writer.ready')
  await within(errorEvent, 5000, 'the error event')
  assertSocketError(await closed, 'ECONNREFUSED')
  assert.notEqual(await read, undefined)
  // Drivers treat writer.ready as "connected", so it must not resolve here.
  assert.notEqual(await ready, undefined)
})

test('an unknown host rejects with ENOTFOUND', limit, async () => {
  const socket = connect('nonexistent.invalid:80')
  const [opened, closed] = await within(
    Promise.all([rejection(socket.opened, 'opened'), rejection(socket.closed, 'closed')]),
    10_000,
    'the lookup to fail',
  )
  assertSocketError(opened, 'ENOTFOUND', 'nonexistent.invalid')
  assertSocketError(closed, 'ENOTFOUND')
})

test('a connection reset by the peer rejects closed and reads with ECONNRESET', limit, async () => {
  await using peer = await resettingPeer()
  const socket = connect(`127.0.0.1:${peer.port}`)
  socket.opened.catch(() => {}) // the RST may arrive before or after the connect completes
  const reader = socket.readable.getReader()
  const [closed, read] = await within(
    Promise.all([rejection(socket.closed, 'closed'), rejection(reader.read(), 'a read')]),
    5000,
    'the reset to surface',
  )
  assertSocketError(closed, 'ECONNRESET')
  assertSocketError(read, 'ECONNRESET')
})

test(
  'closed never rejects with undefined: abort() without a reason gives an AbortError',
  limit,
  async () => {
    const port = await closedPort()
    const socket = connect(`127.0.0.1:${port}`)
    socket.opened.catch(() => {})
    socket.abort()
    const closed = await within(rejection(socket.closed, 'closed'), 5000, 'closed')
    assert.ok(closed instanceof DOMException, `expected a DOMException, got ${String(closed)}`)
    assert.equal(closed.name, 'AbortError')

    const other = connect(`127.0.0.1:${port}`)
    other.opened.catch(() => {})
    other.abort(undefined)
    const closed2 = await within(rejection(other.closed, 'closed'), 5000, 'closed')
    assert.notEqual(closed2, undefined)
    assert.equal((closed2 as Error).name, 'AbortError')
  },
)

test('SocketError is an Error subclass with name, code and cause', limit, async () => {
  const port = await closedPort()
  const socket = connect({ hostname: '127.0.0.1', port })
  const error = await within(rejection(socket.opened, 'opened'), 5000, 'opened')
  socket.closed.catch(() => {})
  assertSocketError(error, 'ECONNREFUSED')
  assert.ok((error as Error).stack)
})
