/**
 * Half-open connections, both ways. With `allowHalfOpen: true` the peer's end
 * of input leaves our writable open; with the default `false`, end of input
 * closes our writable and then the socket (workerd's behaviour).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect } from '@sockworker/sockets'
import {
  decoder,
  dispose,
  encoder,
  limit,
  readAll,
  readText,
  rejection,
  server,
  within,
} from './util.ts'

test(
  'allowHalfOpen: true (client) keeps our writable open after the peer ends',
  limit,
  async () => {
    await using s = await server()
    const socket = connect(s.address, { allowHalfOpen: true })
    try {
      const accepted = await s.accept.next()
      const peerWriter = accepted.writable.getWriter()
      await peerWriter.write(encoder.encode('request'))
      await peerWriter.close() // FIN from the peer

      assert.equal(decoder.decode(await readAll(socket.readable)), 'request')
      const writer = socket.writable.getWriter()
      await within(writer.write(encoder.encode('late reply')), 5000, 'a write after the peer ended')
      await writer.close()
      assert.equal(decoder.decode(await readAll(accepted.readable)), 'late reply')
      await within(socket.closed, 5000, 'closed once both sides ended')
    } finally {
      await dispose(socket)
    }
  },
)

test(
  'allowHalfOpen: true (listener) keeps the accepted writable open after the client ends',
  limit,
  async () => {
    await using s = await server({ allowHalfOpen: true })
    const socket = connect(s.address)
    try {
      const writer = socket.writable.getWriter()
      await writer.write(encoder.encode('question'))
      await writer.close() // our FIN; our readable stays open
      const accepted = await s.accept.next()
      assert.equal(decoder.decode(await readAll(accepted.readable)), 'question')

      const peerWriter = accepted.writable.getWriter()
      await within(
        peerWriter.write(encoder.encode('answer')),
        5000,
        'the peer to write after our end',
      )
      await peerWriter.close()
      assert.equal(decoder.decode(await readAll(socket.readable)), 'answer')
      await within(socket.closed, 5000, 'closed')
      await within(accepted.closed, 5000, 'the accepted socket to close')
    } finally {
      await dispose(socket)
    }
  },
)

test(
  'allowHalfOpen: false (default, client): end of input closes our writable and the socket',
  limit,
  async () => {
    await using s = await server({ allowHalfOpen: true })
    const socket = connect(s.address)
    try {
      const writer = socket.writable.getWriter()
      const reader = socket.readable.getReader()
      const accepted = await s.accept.next()
      const peerWriter = accepted.writable.getWriter()
      await peerWriter.write(encoder.encode('bye'))
      await peerWriter.close()

      assert.equal(await readText(reader, 3), 'bye')
      assert.deepEqual(await within(reader.read(), 5000, 'end of input'), {
        done: true,
        value: undefined,
      })
      // Our writable is closed for us: writer.closed settles and writes fail.
      await within(
        writer.closed.catch(() => {}),
        5000,
        'our writable to close',
      )
      await rejection(writer.write(encoder.encode('too late')), 'a write after end of input')
      await within(socket.closed, 5000, 'closed to resolve')
      // The peer sees our end (our FIN) as well.
      assert.equal((await within(readAll(accepted.readable), 5000, 'the peer end')).byteLength, 0)
    } finally {
      await dispose(socket)
    }
  },
)

test(
  'allowHalfOpen: false (default, listener): the client end closes the accepted socket',
  limit,
  async () => {
    await using s = await server()
    const socket = connect(s.address, { allowHalfOpen: true })
    try {
      const writer = socket.writable.getWriter()
      await writer.write(encoder.encode('hi'))
      await writer.close()
      const accepted = await s.accept.next()
      const peerWriter = accepted.writable.getWriter()
      assert.equal(decoder.decode(await readAll(accepted.readable)), 'hi')
      await within(
        peerWriter.closed.catch(() => {}),
        5000,
        'the accepted writable to close',
      )
      await rejection(peerWriter.write(encoder.encode('x')), 'a write after end of input')
      await within(accepted.closed, 5000, 'the accepted socket to close')
      // The client, which allowed half-open, still sees a clean end.
      assert.equal((await within(readAll(socket.readable), 5000, 'end of stream')).byteLength, 0)
      await within(socket.closed, 5000, 'closed')
    } finally {
      await dispose(socket)
    }
  },
)
