/**
 * listen(): an async iterable of accepted sockets with `addr`, `close()`, a
 * `signal` and a `socket` event; binding a port in use fails with EADDRINUSE.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, listen, Socket, SocketError, SocketListener } from '@sockworker/sockets'
import { dispose, encoder, limit, readText, rejection, within } from './util.ts'

async function refused(port: number): Promise<void> {
  const socket = connect(`127.0.0.1:${port}`)
  const error = await within(rejection(socket.opened, 'opened'), 5000, 'the connection to fail')
  socket.closed.catch(() => {})
  assert.equal((error as SocketError).code, 'ECONNREFUSED')
}

test('async iteration yields the accepted sockets, in order', limit, async () => {
  const listener = listen({ hostname: '127.0.0.1', port: 0 })
  assert.ok(listener instanceof SocketListener)
  const clients: Socket[] = []
  const accepted: Socket[] = []
  try {
    const info = await within(listener.opened, 5000, 'the listener')
    assert.equal(info.type, 'tcp')
    assert.equal(info.hostname, '127.0.0.1')
    assert.ok(info.port > 0)
    assert.deepEqual(listener.addr, info)
    for (let i = 0; i < 3; i++) {
      const client = connect(`127.0.0.1:${info.port}`)
      clients.push(client)
      await within(client.opened, 5000, 'a client')
      await client.writable.getWriter().write(encoder.encode(String(i)))
    }
    // The loop runs on its own so that cleanup below never waits on it.
    const three = Promise.withResolvers<void>()
    const loop = (async () => {
      for await (const socket of listener) {
        accepted.push(socket)
        if (accepted.length === 3) break
      }
    })()
    loop.then(three.resolve, three.reject)
    await within(three.promise, 5000, 'three accepted sockets and the end of the loop')
    const ports = await Promise.all(clients.map(async (c) => (await c.opened).localPort))
    assert.deepEqual(
      accepted.map((s) => s.info.remotePort),
      ports,
    )
    for (const [i, socket] of accepted.entries()) {
      assert.ok(socket instanceof Socket)
      const peer = await within(socket.opened, 5000, 'an accepted socket')
      assert.equal(peer.localPort, info.port)
      assert.equal(peer.remoteAddress, '127.0.0.1')
      assert.equal(await readText(socket.readable.getReader(), 1), String(i))
    }
  } finally {
    await dispose(...clients, ...accepted)
    await within(listener.close(), 5000, 'the listener to close')
  }
})

test('close() ends the iteration, resolves closed and frees the port', limit, async () => {
  const listener = listen({ hostname: '127.0.0.1', port: 0 })
  const { port } = await within(listener.opened, 5000, 'the listener')
  const iteration = (async () => {
    let count = 0
    for await (const _ of listener) count++
    return count
  })()
  const first = listener.close()
  const second = listener.close()
  await within(Promise.all([first, second]), 5000, 'both close() calls')
  assert.equal(await within(iteration, 5000, 'the iteration to end'), 0)
  await within(listener.closed, 5000, 'closed')
  await refused(port)
})

test('close() stops accepting at once; accepted sockets stay open and usable', limit, async () => {
  const listener = listen({ hostname: '127.0.0.1', port: 0 })
  let client: Socket | undefined
  let accepted: Socket | undefined
  try {
    const { port } = await within(listener.opened, 5000, 'the listener')
    client = connect(`127.0.0.1:${port}`)
    const next = await within(listener[Symbol.asyncIterator]().next(), 5000, 'a socket')
    accepted = next.value as Socket
    await within(listener.close(), 5000, 'close() with an accepted socket still open')
    await refused(port)
    await client.writable.getWriter().write(encoder.encode('still here'))
    assert.equal(await readText(accepted.readable.getReader(), 10), 'still here')
  } finally {
    await dispose(client, accepted)
    await listener.close()
  }
})

test('aborting options.signal closes the listener', limit, async () => {
  const controller = new AbortController()
  const listener = listen({ hostname: '127.0.0.1', port: 0, signal: controller.signal })
  const { port } = await within(listener.opened, 5000, 'the listener')
  const iteration = (async () => {
    for await (const _ of listener) {
      // nothing connects
    }
  })()
  const reason = new Error('shutting down')
  controller.abort(reason)
  // The loop may end, or throw the signal's reason; either way it must stop.
  const ended = await within(
    iteration.then(
      () => undefined,
      (error: unknown) => error,
    ),
    5000,
    'the iteration to stop',
  )
  if (ended !== undefined) assert.equal(ended, reason)
  await within(
    listener.closed.catch(() => {}),
    5000,
    'closed',
  )
  await refused(port)
})

test('an already aborted signal rejects opened with signal.reason', limit, async () => {
  const reason = new Error('too late')
  const listener = listen({ hostname: '127.0.0.1', port: 0, signal: AbortSignal.abort(reason) })
  listener.closed.catch(() => {})
  assert.equal(await within(rejection(listener.opened, 'opened'), 5000, 'opened'), reason)
})

test('the socket event carries each accepted socket', limit, async () => {
  const listener = listen({ hostname: '127.0.0.1', port: 0 })
  const { promise, resolve } = Promise.withResolvers<Socket>()
  listener.addEventListener('socket', (event) => {
    resolve((event as Event & { socket: Socket }).socket)
  })
  let client: Socket | undefined
  let accepted: Socket | undefined
  try {
    const { port } = await within(listener.opened, 5000, 'the listener')
    client = connect(`127.0.0.1:${port}`)
    const { localPort } = await within(client.opened, 5000, 'the client')
    accepted = await within(promise, 5000, 'the socket event')
    assert.ok(accepted instanceof Socket)
    assert.equal((await accepted.opened).remotePort, localPort)
  } finally {
    await dispose(client, accepted)
    await listener.close()
  }
})

test('binding a port in use rejects opened with EADDRINUSE', limit, async () => {
  const first = listen({ hostname: '127.0.0.1', port: 0 })
  try {
    const { port } = await within(first.opened, 5000, 'the first listener')
    const second = listen({ hostname: '127.0.0.1', port })
    second.closed.catch(() => {})
    const error = await within(rejection(second.opened, 'opened'), 5000, 'the bind to fail')
    assert.ok(error instanceof SocketError, `expected a SocketError, got ${String(error)}`)
    assert.equal(error.code, 'EADDRINUSE')
    assert.ok(error.message.includes(String(port)), `the message names the port: ${error.message}`)
    assert.notEqual(error.cause, undefined)
  } finally {
    await first.close()
  }
})

test('binding a UDP port in use rejects opened with EADDRINUSE', limit, async () => {
  const first = listen({ type: 'udp', hostname: '127.0.0.1', port: 0 })
  try {
    const { port } = await within(first.opened, 5000, 'the first listener')
    const second = listen({ type: 'udp', hostname: '127.0.0.1', port })
    second.closed.catch(() => {})
    const error = await within(rejection(second.opened, 'opened'), 5000, 'the bind to fail')
    assert.ok(error instanceof SocketError, `expected a SocketError, got ${String(error)}`)
    assert.equal(error.code, 'EADDRINUSE')
  } finally {
    await first.close()
  }
})

test('a listener on ::1 accepts IPv6 connections', limit, async () => {
  const listener = listen({ hostname: '::1', port: 0 })
  let client: Socket | undefined
  try {
    const { port, hostname } = await within(listener.opened, 5000, 'the listener')
    assert.equal(hostname, '::1')
    client = connect(`[::1]:${port}`)
    const info = await within(client.opened, 5000, 'the client')
    assert.equal(info.localAddress, '::1')
  } finally {
    await dispose(client)
    await listener.close()
  }
})
