/**
 * TCP through listen() + connect(): round trips, BYOB reads, every kind of
 * buffer on the writable, the open/close lifecycle and its events.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, Socket } from '@sockworker/sockets'
import {
  decoder,
  dispose,
  echoServer,
  encoder,
  limit,
  pattern,
  patternByte,
  readAll,
  readText,
  server,
  within,
} from './util.ts'

test('data makes a round trip through an echo server', limit, async () => {
  await using echo = await echoServer()
  const socket = connect(echo.address)
  try {
    assert.ok(socket instanceof Socket)
    assert.ok(socket instanceof EventTarget)
    const writer = socket.writable.getWriter()
    const reader = socket.readable.getReader()
    await writer.write(encoder.encode('hello, '))
    await writer.write(encoder.encode('world'))
    assert.equal(await readText(reader, 12), 'hello, world')
  } finally {
    await dispose(socket)
  }
})

test('opened resolves with the addresses and ports of both ends', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  try {
    const info = await within(socket.opened, 5000, 'opened')
    const accepted = await s.accept.next()
    assert.equal(info.type, 'tcp')
    assert.equal(info.remoteAddress, '127.0.0.1')
    assert.equal(info.remotePort, s.port)
    assert.equal(info.localAddress, '127.0.0.1')
    assert.ok(typeof info.localPort === 'number' && info.localPort > 0)
    assert.equal(info.tls, undefined)
    assert.deepEqual(socket.info, info)
    const peer = await accepted.opened
    assert.equal(peer.remotePort, info.localPort)
    assert.equal(peer.localPort, s.port)
    assert.equal(socket.secureTransport, 'off')
    assert.equal(socket.upgraded, false)
    await within(socket.ready, 5000, 'ready')
  } finally {
    await dispose(socket)
  }
})

test('the readable is a byte stream that serves BYOB reads', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  try {
    const accepted = await s.accept.next()
    const sent = pattern(1000)
    const peerWriter = accepted.writable.getWriter()
    await peerWriter.write(sent)
    await peerWriter.close()

    const reader = socket.readable.getReader({ mode: 'byob' })
    const received = new Uint8Array(sent.byteLength)
    let offset = 0
    for (let reads = 0; reads < 10_000; reads++) {
      const { done, value } = await reader.read(new Uint8Array(16))
      if (done) break
      assert.ok(value.byteLength > 0 && value.byteLength <= 16)
      // The view is onto the buffer we handed in (transferred), not a copy.
      assert.equal(value.buffer.byteLength, 16)
      received.set(value, offset)
      offset += value.byteLength
    }
    assert.equal(offset, sent.byteLength)
    assert.deepEqual(received, sent)
  } finally {
    await dispose(socket)
  }
})

test('the writable takes an ArrayBuffer and any ArrayBufferView', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  try {
    const accepted = await s.accept.next()
    const backing = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]).buffer
    const chunks: Array<ArrayBuffer | ArrayBufferView> = [
      encoder.encode('u8'),
      new Uint8Array([200, 201]).buffer,
      new DataView(backing, 2, 3), // only bytes 2..4 of the backing buffer
      new Uint16Array(backing, 4, 2), // bytes 4..7
      new Int8Array([-1, -2]),
      new Float64Array([1.5]),
      new Uint8Array(backing).subarray(14), // bytes 14..15
    ]
    const expected: number[] = []
    for (const chunk of chunks) {
      const bytes = ArrayBuffer.isView(chunk)
        ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        : new Uint8Array(chunk)
      expected.push(...bytes)
    }
    const writer = socket.writable.getWriter()
    for (const chunk of chunks) await writer.write(chunk)
    await writer.close()
    assert.deepEqual([...(await readAll(accepted.readable))], expected)
  } finally {
    await dispose(socket)
  }
})

test('writer.ready resolves only once the socket is connected', limit, async () => {
  await using echo = await echoServer()
  const socket = connect(echo.address)
  try {
    let opened = false
    socket.opened.then(() => {
      opened = true
    })
    const writer = socket.writable.getWriter()
    await within(writer.ready, 5000, 'writer.ready')
    assert.equal(opened, true, 'writer.ready resolved before opened')
    assert.ok((socket.info.localPort ?? 0) > 0)
    // The pg-cloudflare pattern: write right after ready, without awaiting opened.
    writer.write(encoder.encode('now'))
    assert.equal(await readText(socket.readable.getReader(), 3), 'now')
  } finally {
    await dispose(socket)
  }
})

test('the open event fires once connected, and close once closed', limit, async () => {
  await using echo = await echoServer()
  const socket = connect(echo.address)
  let closes = 0
  socket.addEventListener('close', () => closes++)
  const open = new Promise((resolve) => socket.addEventListener('open', resolve, { once: true }))
  const close = new Promise((resolve) => socket.addEventListener('close', resolve, { once: true }))
  await within(open, 5000, 'the open event')
  await socket.close()
  await within(close, 5000, 'the close event')
  assert.equal(closes, 1)
})

test('close() is idempotent: every call resolves, and closed resolves', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  await within(socket.opened, 5000, 'opened')
  const accepted = await s.accept.next()
  const first = socket.close()
  const second = socket.close()
  await within(Promise.all([first, second]), 5000, 'both close() calls')
  await within(socket.closed, 5000, 'closed')
  await within(socket.close(), 5000, 'close() after closed')
  // The peer sees a clean end of stream.
  assert.equal((await readAll(accepted.readable)).byteLength, 0)
})

test('close() flushes pending writes before closing', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  const total = 8 * 1024 * 1024
  const size = 64 * 1024
  const writer = socket.writable.getWriter()
  const writes: Promise<void>[] = []
  for (let offset = 0; offset < total; offset += size) {
    writes.push(writer.write(pattern(size, offset)))
  }
  const closing = socket.close() // at once, with every write still pending
  const accepted = await s.accept.next()
  const received = await within(readAll(accepted.readable), 20_000, 'the peer to read all')
  await within(closing, 5000, 'close()')
  await Promise.all(writes)
  assert.equal(received.byteLength, total)
  for (let i = 0; i < total; i++) {
    if (received[i] !== patternByte(i)) assert.fail(`byte ${i} differs`)
  }
})

test('the peer ending its side ends our readable', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  try {
    const accepted = await s.accept.next()
    const writer = accepted.writable.getWriter()
    await writer.write(encoder.encode('bye'))
    await accepted.close()
    assert.equal(decoder.decode(await readAll(socket.readable)), 'bye')
  } finally {
    await dispose(socket)
  }
})

test('await using closes the socket at the end of the block', limit, async () => {
  await using s = await server()
  let outer: Socket | undefined
  let accepted: Socket | undefined
  {
    await using socket = connect(s.address)
    outer = socket
    assert.equal(typeof socket[Symbol.asyncDispose], 'function')
    await within(socket.opened, 5000, 'opened')
    accepted = await s.accept.next()
  }
  await within(outer.closed, 5000, 'closed after disposal')
  assert.equal((await readAll(accepted.readable)).byteLength, 0)
})
