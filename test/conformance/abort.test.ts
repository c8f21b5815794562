/**
 * abort(reason) and options.signal: immediate teardown, `closed` rejects with
 * the reason, both streams error; `socket.signal` aborts when the socket ends.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, type Socket } from '@sockworker/sockets'
import { dispose, encoder, limit, readText, rejection, server, within } from './util.ts'

/** Resolves once the peer sees the connection end: a clean end or a reset both count. */
async function peerSeesEnd(accepted: Socket): Promise<void> {
  const reader = accepted.readable.getReader()
  for (let reads = 0; reads < 1000; reads++) {
    try {
      if ((await reader.read()).done) return
    } catch {
      return
    }
  }
}

test('abort(reason) rejects closed with that reason and errors both streams', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  await within(socket.opened, 5000, 'opened')
  const accepted = await s.accept.next()
  const reader = socket.readable.getReader()
  const writer = socket.writable.getWriter()
  const pendingRead = rejection(reader.read(), 'a pending read')
  const reason = new Error('enough')
  socket.abort(reason)
  assert.equal(await within(rejection(socket.closed, 'closed'), 5000, 'closed'), reason)
  assert.notEqual(await within(pendingRead, 5000, 'the pending read'), undefined)
  await rejection(writer.write(encoder.encode('x')), 'a write after abort')
  await within(peerSeesEnd(accepted), 5000, 'the peer to see the end')
  await dispose(accepted)
})

test('abort() fires the close or error event and aborts socket.signal', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  await within(socket.opened, 5000, 'opened')
  const ended = new Promise((resolve) => {
    socket.addEventListener('close', resolve, { once: true })
    socket.addEventListener('error', resolve, { once: true })
  })
  const reason = new Error('stop')
  socket.abort(reason)
  await rejection(socket.closed, 'closed')
  await within(ended, 5000, 'a close or error event')
  assert.equal(socket.signal.aborted, true)
})

test('an already aborted signal rejects opened with signal.reason', limit, async () => {
  await using s = await server()
  const reason = new Error('never mind')
  const socket = connect(s.address, { signal: AbortSignal.abort(reason) })
  const [opened, closed] = await within(
    Promise.all([rejection(socket.opened, 'opened'), rejection(socket.closed, 'closed')]),
    5000,
    'the abort to settle',
  )
  assert.equal(opened, reason)
  assert.equal(closed, reason)
})

test('aborting the signal while connecting rejects opened with signal.reason', limit, async () => {
  await using s = await server()
  const controller = new AbortController()
  const socket = connect(s.address, { signal: controller.signal })
  const reason = new Error('changed my mind')
  controller.abort(reason) // synchronously: the connection cannot be up yet
  assert.equal(await within(rejection(socket.opened, 'opened'), 5000, 'opened'), reason)
  assert.equal(await within(rejection(socket.closed, 'closed'), 5000, 'closed'), reason)
})

test(
  'aborting the signal mid-connection tears the socket down with signal.reason',
  limit,
  async () => {
    await using s = await server()
    const controller = new AbortController()
    const socket = connect(s.address, { signal: controller.signal })
    await within(socket.opened, 5000, 'opened')
    const accepted = await s.accept.next()
    const reader = socket.readable.getReader()
    const writer = socket.writable.getWriter()
    await writer.write(encoder.encode('hi'))
    assert.equal(await readText(accepted.readable.getReader(), 2), 'hi')
    const pendingRead = rejection(reader.read(), 'a pending read')
    const reason = new Error('shutdown')
    controller.abort(reason)
    assert.equal(await within(rejection(socket.closed, 'closed'), 5000, 'closed'), reason)
    assert.notEqual(await within(pendingRead, 5000, 'the pending read'), undefined)
    await rejection(writer.write(encoder.encode('x')), 'a write after abort')
    await dispose(accepted)
  },
)

test('an abort without a reason uses the signal default reason, an AbortError', limit, async () => {
  await using s = await server()
  const controller = new AbortController()
  const socket = connect(s.address, { signal: controller.signal })
  await within(socket.opened, 5000, 'opened')
  controller.abort()
  const closed = await within(rejection(socket.closed, 'closed'), 5000, 'closed')
  assert.equal(closed, controller.signal.reason)
  assert.equal((closed as Error).name, 'AbortError')
})

test('socket.signal aborts when the socket closes normally', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  try {
    assert.ok(socket.signal instanceof AbortSignal)
    await within(socket.opened, 5000, 'opened')
    assert.equal(socket.signal.aborted, false)
    const aborted = new Promise((resolve) =>
      socket.signal.addEventListener('abort', resolve, { once: true }),
    )
    await socket.close()
    await within(aborted, 5000, 'socket.signal to abort')
    assert.equal(socket.signal.aborted, true)
  } finally {
    await dispose(socket)
  }
})

test('socket.signal aborts when the peer ends the connection', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  try {
    await within(socket.opened, 5000, 'opened')
    const accepted = await s.accept.next()
    await accepted.close()
    const reader = socket.readable.getReader()
    assert.equal((await within(reader.read(), 5000, 'end of input')).done, true)
    await within(socket.closed, 5000, 'closed')
    assert.equal(socket.signal.aborted, true)
  } finally {
    await dispose(socket)
  }
})

test('socket.signal aborts when the connection fails', limit, async () => {
  const listener = await server()
  const port = listener.port
  await listener[Symbol.asyncDispose]()
  const socket = connect(`127.0.0.1:${port}`)
  socket.opened.catch(() => {})
  await rejection(socket.closed, 'closed')
  assert.equal(socket.signal.aborted, true)
})
