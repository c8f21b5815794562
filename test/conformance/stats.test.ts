/**
 * socket.stats counts exactly what went over the wire: bytes for TCP, bytes
 * and datagrams for UDP.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, type Datagram, listen, Socket } from '@sockworker/sockets'
import { dispose, limit, pattern, readAll, readBytes, server, within } from './util.ts'

test('TCP: bytesSent and bytesReceived count every byte, on both ends', limit, async () => {
  await using s = await server()
  const socket = connect(s.address)
  try {
    assert.equal(socket.stats.bytesSent, 0)
    assert.equal(socket.stats.bytesReceived, 0)
    const writer = socket.writable.getWriter()
    const reader = socket.readable.getReader()
    const accepted = await s.accept.next()

    const request = 12_345
    const response = 54_321
    await writer.write(pattern(request))
    const peerReader = accepted.readable.getReader()
    assert.equal((await readBytes(peerReader, request)).byteLength, request)
    const peerWriter = accepted.writable.getWriter()
    await peerWriter.write(pattern(response))
    assert.equal((await readBytes(reader, response)).byteLength, response)

    await writer.close()
    peerReader.releaseLock()
    assert.equal((await readAll(accepted.readable)).byteLength, 0)
    assert.equal((await within(reader.read(), 5000, 'end of input')).done, true)
    await within(socket.closed, 5000, 'closed')
    assert.equal(socket.stats.bytesSent, request)
    assert.equal(socket.stats.bytesReceived, response)
    assert.equal(accepted.stats.bytesReceived, request)
    assert.equal(accepted.stats.bytesSent, response)
  } finally {
    await dispose(socket)
  }
})

test('UDP: packets and bytes are counted per datagram, on both ends', limit, async () => {
  const listener = listen({ type: 'udp', hostname: '127.0.0.1', port: 0 })
  const { port } = await within(listener.opened, 5000, 'the UDP listener')
  const client = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
  let flow: Socket | undefined
  try {
    await within(client.opened, 5000, 'the UDP client')
    const writer = client.writable.getWriter()
    for (const size of [10, 20, 30]) await writer.write(pattern(size))

    const iterator = listener[Symbol.asyncIterator]()
    const next = await within(iterator.next(), 5000, 'a UDP flow')
    assert.equal(next.done, false)
    flow = next.value as Socket
    const flowReader = flow.readable.getReader() as ReadableStreamDefaultReader<unknown>
    for (let i = 0; i < 3; i++) await within(flowReader.read(), 5000, 'a datagram')

    const flowWriter = flow.writable.getWriter()
    await flowWriter.write(pattern(7))
    await flowWriter.write(pattern(8))
    const clientReader = client.readable.getReader() as ReadableStreamDefaultReader<unknown>
    for (let i = 0; i < 2; i++) {
      const { value } = await within(clientReader.read(), 5000, 'a reply')
      assert.ok((value as Datagram).data instanceof Uint8Array)
    }

    assert.equal(client.stats.packetsSent, 3)
    assert.equal(client.stats.bytesSent, 60)
    assert.equal(client.stats.packetsReceived, 2)
    assert.equal(client.stats.bytesReceived, 15)
    assert.equal(flow.stats.packetsReceived, 3)
    assert.equal(flow.stats.bytesReceived, 60)
    assert.equal(flow.stats.packetsSent, 2)
    assert.equal(flow.stats.bytesSent, 15)
    assert.equal(client.stats.packetsDropped, 0)
  } finally {
    await dispose(client, flow)
    await listener.close()
  }
})
