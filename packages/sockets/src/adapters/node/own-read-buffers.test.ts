/**
 * The fence around Node internals (own-read-buffers.ts): accepted sockets
 * read into our own growing buffers through the fields that `onread` sets.
 * If a Node release renames or drops them, the first test fails here,
 * rather than the data path silently falling back to `data` events.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { test } from 'node:test'
import { GrowingReadBuffer, ownReadBuffersWork, readIntoOwnBuffers } from './own-read-buffers.ts'

test('this Node has the internal fields that onread sets', () => {
  assert.equal(ownReadBuffersWork, true, `Node ${process.version} changed onread's internals`)
})

test('an accepted socket reads into buffers that grow from 16 KiB to 256 KiB', {
  timeout: 20_000,
}, async () => {
  const total = 8 * 1024 * 1024
  const sizes: number[] = []
  const received = new Uint8Array(total)
  let got = 0
  const done = Promise.withResolvers<void>()
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const reads = new GrowingReadBuffer((chunk) => {
      sizes.push(chunk.byteLength)
      received.set(chunk, got)
      got += chunk.byteLength
      if (got === total) done.resolve()
    })
    assert.equal(readIntoOwnBuffers(socket, reads), true)
    socket.on('data', () => done.reject(new Error('a data event went around our buffers')))
    // A turn later, the kernel holds more than a buffer's worth: reads fill their buffers.
    setImmediate(() => socket.resume())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const client = net.connect({ port, host: '127.0.0.1' })
  const sent = new Uint8Array(total)
  for (let i = 0; i < total; i++) sent[i] = (i * 7) & 0xff
  client.end(sent)
  try {
    await done.promise
    assert.deepEqual(received, sent, 'bytes arrive intact and in order')
    assert.ok((sizes[0] ?? 0) <= 16 * 1024, `first read ${sizes[0]} bytes`)
    assert.ok(
      Math.max(...sizes) > 64 * 1024,
      `reads grew past Node's 64 KiB: ${Math.max(...sizes)}`,
    )
    assert.ok(Math.max(...sizes) <= 256 * 1024, 'reads stop growing at 256 KiB')
  } finally {
    client.destroy()
    server.close()
  }
})
