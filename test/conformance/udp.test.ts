/**
 * UDP in both modes. A connected socket (`remote`) sends one datagram per
 * write; a bound socket (`local`) reads `{ data, remoteAddress, remotePort }`
 * and its writes carry their destination.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Datagram, Socket } from '@sockworker/sockets'
import { decoder, dispose, encoder, limit, pattern, rejection, within } from './util.ts'

function messages(socket: Socket): ReadableStreamDefaultReader<Datagram> {
  return socket.readable.getReader() as unknown as ReadableStreamDefaultReader<Datagram>
}

function sender(socket: Socket): WritableStreamDefaultWriter<unknown> {
  return socket.writable.getWriter() as WritableStreamDefaultWriter<unknown>
}

async function nextMessage(reader: ReadableStreamDefaultReader<Datagram>): Promise<Datagram> {
  const { done, value } = await within(reader.read(), 5000, 'a datagram')
  assert.equal(done, false)
  assert.ok(value)
  return value
}

function bound(): Socket {
  return new Socket({ type: 'udp', local: { address: '127.0.0.1', port: 0 } })
}

test(
  'a connected socket sends one datagram per write; a bound socket reads their source',
  limit,
  async () => {
    const server = bound()
    let client: Socket | undefined
    try {
      const serverInfo = await within(server.opened, 5000, 'the bound socket')
      assert.equal(serverInfo.type, 'udp')
      assert.equal(serverInfo.localAddress, '127.0.0.1')
      const port = serverInfo.localPort
      assert.ok(typeof port === 'number' && port > 0)

      client = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
      const clientInfo = await within(client.opened, 5000, 'the connected socket')
      assert.equal(clientInfo.remoteAddress, '127.0.0.1')
      assert.equal(clientInfo.remotePort, port)
      assert.ok(typeof clientInfo.localPort === 'number' && clientInfo.localPort > 0)

      const sent = [encoder.encode('a'), encoder.encode('bb'), pattern(8192)]
      const writer = sender(client)
      for (const data of sent) await writer.write(data)
      await writer.write({ data: encoder.encode('as a message') }) // destination left out

      const reader = messages(server)
      for (const data of [...sent, encoder.encode('as a message')]) {
        const message = await nextMessage(reader)
        assert.ok(message.data instanceof Uint8Array)
        assert.deepEqual([...message.data], [...data], 'each write arrives as exactly one datagram')
        assert.equal(message.remoteAddress, '127.0.0.1')
        assert.equal(message.remotePort, clientInfo.localPort)
      }

      await sender(server).write({
        data: encoder.encode('pong'),
        remoteAddress: '127.0.0.1',
        remotePort: clientInfo.localPort,
      })
      const reply = await nextMessage(messages(client))
      assert.equal(decoder.decode(reply.data), 'pong')
      assert.equal(reply.remoteAddress, '127.0.0.1')
      assert.equal(reply.remotePort, port)
    } finally {
      await dispose(server, client)
    }
  },
)

test(
  'a bound socket writes to any destination, and takes ArrayBuffer and DataView data',
  limit,
  async () => {
    const a = bound()
    const b = bound()
    try {
      const [infoA, infoB] = await within(Promise.all([a.opened, b.opened]), 5000, 'both sockets')
      const writer = sender(a)
      const backing = new Uint8Array([9, 8, 7, 6, 5]).buffer
      await writer.write({ data: backing, remoteAddress: '127.0.0.1', remotePort: infoB.localPort })
      await writer.write({
        data: new DataView(backing, 1, 2),
        remoteAddress: '127.0.0.1',
        remotePort: infoB.localPort,
      })
      const reader = messages(b)
      assert.deepEqual([...(await nextMessage(reader)).data], [9, 8, 7, 6, 5])
      const second = await nextMessage(reader)
      assert.deepEqual([...second.data], [8, 7])
      assert.equal(second.remotePort, infoA.localPort)
    } finally {
      await dispose(a, b)
    }
  },
)

test('writes made before a connected socket opens are sent once it is open', limit, async () => {
  const server = bound()
  let client: Socket | undefined
  try {
    const { localPort: port } = await within(server.opened, 5000, 'the bound socket')
    assert.ok(port)
    client = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
    const writer = sender(client)
    const writes = [writer.write(encoder.encode('early')), writer.write(encoder.encode('bird'))]
    await within(Promise.all(writes), 5000, 'the early writes')
    const reader = messages(server)
    assert.equal(decoder.decode((await nextMessage(reader)).data), 'early')
    assert.equal(decoder.decode((await nextMessage(reader)).data), 'bird')
  } finally {
    await dispose(server, client)
  }
})

test('a burst of writes, none awaited, all resolve and go out in order', limit, async () => {
  const server = bound()
  let client: Socket | undefined
  try {
    const { localPort: port } = await within(server.opened, 5000, 'the bound socket')
    assert.ok(port)
    client = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
    await within(client.opened, 5000, 'the connected socket')
    const writer = sender(client)
    // More than the sends a transport lets out before a write waits for them.
    const count = 600
    const writes = [...Array(count)].map((_, i) => writer.write(encoder.encode(`${i}`)))
    await within(Promise.all(writes), 5000, 'the writes')
    assert.equal(client.stats.packetsSent, count)
    await within(client.close(), 5000, 'close() after the burst')
    // UDP may drop the tail of a burst (the receive buffer is not read
    // meanwhile); its head fits, and arrives in order.
    const reader = messages(server)
    for (let i = 0; i < 50; i++) {
      assert.equal(decoder.decode((await nextMessage(reader)).data), `${i}`)
    }
  } finally {
    await dispose(server, client)
  }
})

test('a datagram too large to send fails the writable', limit, async () => {
  const server = bound()
  let client: Socket | undefined
  try {
    const { localPort: port } = await within(server.opened, 5000, 'the bound socket')
    assert.ok(port)
    client = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
    await within(client.opened, 5000, 'the connected socket')
    const writer = sender(client)
    // Over UDP's 65,507-byte limit: the kernel refuses it (EMSGSIZE). The
    // write may resolve first, as it went out at once; the writable errors.
    writer.write(new Uint8Array(70_000)).catch(() => {})
    const error = await rejection(writer.closed, 'the writable')
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`)
  } finally {
    await dispose(server, client)
  }
})

test('datagram data is a plain Uint8Array on every runtime', limit, async () => {
  const a = bound()
  const b = bound()
  try {
    const [, infoB] = await within(Promise.all([a.opened, b.opened]), 5000, 'both sockets')
    await sender(a).write({
      data: encoder.encode('x'),
      remoteAddress: '127.0.0.1',
      remotePort: infoB.localPort,
    })
    const { data } = await nextMessage(messages(b))
    // Not a runtime subclass such as Node's Buffer, whose slice() shares memory
    // instead of copying: portable code must see the same type everywhere.
    assert.ok(
      Object.getPrototypeOf(data) === Uint8Array.prototype,
      `data is a ${data.constructor.name}, not a plain Uint8Array`,
    )
  } finally {
    await dispose(a, b)
  }
})

test('bare bytes on an unconnected UDP socket reject with a TypeError', limit, async () => {
  const socket = bound()
  try {
    await within(socket.opened, 5000, 'the bound socket')
    const error = await rejection(sender(socket).write(encoder.encode('where to?')), 'the write')
    assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`)
  } finally {
    await dispose(socket)
  }
})

test('a datagram to a port out of range rejects with a RangeError', limit, async () => {
  const socket = bound()
  try {
    await within(socket.opened, 5000, 'the bound socket')
    const write = sender(socket).write({
      data: encoder.encode('x'),
      remoteAddress: '127.0.0.1',
      remotePort: 70000,
    })
    const error = await rejection(write, 'the write')
    assert.ok(error instanceof RangeError, `expected a RangeError, got ${String(error)}`)
    assert.ok(error.message.includes('70000'))
  } finally {
    await dispose(socket)
  }
})

test('close() on a UDP socket is idempotent and resolves closed', limit, async () => {
  const socket = bound()
  await within(socket.opened, 5000, 'the bound socket')
  await within(Promise.all([socket.close(), socket.close()]), 5000, 'close()')
  await within(socket.closed, 5000, 'closed')
  const reader = messages(socket)
  assert.equal((await within(reader.read(), 5000, 'end of messages')).done, true)
})

test('a datagram addressed to a host name goes to the address it resolves to', limit, async () => {
  const receiver = bound()
  const from = bound()
  try {
    const { localPort } = await within(receiver.opened, 5000, 'the receiver')
    await within(from.opened, 5000, 'the sender')
    await sender(from).write({
      data: encoder.encode('by name'),
      remoteAddress: 'localhost',
      remotePort: localPort,
    })
    const message = await nextMessage(messages(receiver))
    assert.equal(decoder.decode(message.data), 'by name')
  } finally {
    await dispose(receiver, from)
  }
})
