/**
 * listen({ type: 'udp' }) yields one Socket per flow: all the datagrams from
 * one remote address and port. Replies go back to that peer, and a flow ends
 * after its idle timeout.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Datagram, type FlowDropEvent, listen, Socket } from '@sockworker/sockets'
import { decoder, dispose, encoder, limit, within } from './util.ts'

function messages(socket: Socket): ReadableStreamDefaultReader<Datagram> {
  return socket.readable.getReader() as unknown as ReadableStreamDefaultReader<Datagram>
}

function sender(socket: Socket): WritableStreamDefaultWriter<unknown> {
  return socket.writable.getWriter() as WritableStreamDefaultWriter<unknown>
}

async function nextText(reader: ReadableStreamDefaultReader<Datagram>): Promise<string> {
  const { done, value } = await within(reader.read(), 5000, 'a datagram')
  assert.equal(done, false)
  assert.ok(value)
  return decoder.decode(value.data)
}

test('each remote address and port is one flow, and replies go back to it', limit, async () => {
  const listener = listen({ type: 'udp', hostname: '127.0.0.1', port: 0 })
  const flows: Socket[] = []
  let events = 0
  listener.addEventListener('socket', () => events++)
  const { port } = await within(listener.opened, 5000, 'the UDP listener')
  assert.deepEqual(listener.addr, { type: 'udp', hostname: '127.0.0.1', port })
  const a = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
  const b = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
  try {
    const [infoA, infoB] = await within(Promise.all([a.opened, b.opened]), 5000, 'the clients')
    const writerA = sender(a)
    await writerA.write(encoder.encode('A1'))
    await sender(b).write(encoder.encode('B1'))
    await writerA.write(encoder.encode('A2'))

    const iterator = listener[Symbol.asyncIterator]()
    for (let i = 0; i < 2; i++) {
      const next = await within(iterator.next(), 5000, 'a flow')
      assert.equal(next.done, false)
      flows.push(next.value as Socket)
    }
    const byPort = new Map(flows.map((flow) => [flow.info.remotePort, flow]))
    const flowA = byPort.get(infoA.localPort)
    const flowB = byPort.get(infoB.localPort)
    assert.ok(flowA && flowB, 'one flow per client port')
    assert.equal(flowA.info.type, 'udp')
    assert.equal(flowA.info.remoteAddress, '127.0.0.1')
    assert.equal(flowA.info.localPort, port)

    const readerA = messages(flowA)
    assert.equal(await nextText(readerA), 'A1')
    assert.equal(await nextText(readerA), 'A2')
    assert.equal(await nextText(messages(flowB)), 'B1')
    // A2 was dispatched before we read it, so a wrongly created third flow would exist by now.
    assert.equal(events, 2, 'the second datagram from A joined its flow')

    await sender(flowA).write(encoder.encode('to A')) // bare bytes go back to the flow's peer
    await sender(flowB).write({ data: encoder.encode('to B') })
    const replyA = messages(a)
    const replyB = messages(b)
    assert.equal(await nextText(replyA), 'to A')
    assert.equal(await nextText(replyB), 'to B')
  } finally {
    await dispose(a, b, ...flows)
    await listener.close()
  }
})

test('a flow closes after its idle timeout', limit, async () => {
  const listener = listen({ type: 'udp', hostname: '127.0.0.1', port: 0, idleTimeout: 200 })
  const { port } = await within(listener.opened, 5000, 'the UDP listener')
  const client = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
  let flow: Socket | undefined
  try {
    await within(client.opened, 5000, 'the UDP client')
    await sender(client).write(encoder.encode('hello'))
    const next = await within(listener[Symbol.asyncIterator]().next(), 5000, 'a flow')
    assert.equal(next.done, false)
    flow = next.value as Socket
    const reader = messages(flow)
    assert.equal(await nextText(reader), 'hello')
    const started = performance.now()
    // A flow ends quietly (resolves) or with ETIMEDOUT; either way never with undefined.
    const outcome = await within(
      flow.closed.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      5000,
      'the flow to time out',
    )
    if (outcome !== 'resolved') {
      assert.equal((outcome as { code?: string }).code, 'ETIMEDOUT')
    }
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 150, `the flow closed after ${elapsed} ms, before its 200 ms idle timeout`)
    const end = await within(
      reader.read().catch(() => ({ done: true })),
      5000,
      'the flow readable to end',
    )
    assert.equal(end.done, true)
  } finally {
    await dispose(client, flow)
    await listener.close()
  }
})

test(
  'past maxFlows a new peer’s datagram is dropped with a drop event; open flows keep working',
  limit,
  async () => {
    const listener = listen({ type: 'udp', hostname: '127.0.0.1', port: 0, maxFlows: 1 })
    const drops: FlowDropEvent[] = []
    const dropped = Promise.withResolvers<void>()
    listener.addEventListener('drop', (event) => {
      drops.push(event as FlowDropEvent)
      dropped.resolve()
    })
    const { port } = await within(listener.opened, 5000, 'the UDP listener')
    const a = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
    const b = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
    let flowA: Socket | undefined
    try {
      await within(Promise.all([a.opened, b.opened]), 5000, 'the clients')
      const iterator = listener[Symbol.asyncIterator]()
      const writerA = sender(a)
      await writerA.write(encoder.encode('A1'))
      const next = await within(iterator.next(), 5000, 'the first flow')
      flowA = next.value as Socket
      const readerA = messages(flowA)
      assert.equal(await nextText(readerA), 'A1')

      await sender(b).write(encoder.encode('B1'))
      await within(dropped.promise, 5000, 'the drop event for the second peer')
      assert.equal(drops.length, 1)
      assert.equal(drops[0]?.remoteAddress, '127.0.0.1')
      assert.equal(drops[0]?.remotePort, b.info.localPort)
      assert.equal(drops[0]?.reason, 'max-flows')

      // The flow that was open before the cap keeps both directions.
      await writerA.write(encoder.encode('A2'))
      assert.equal(await nextText(readerA), 'A2')
      await sender(flowA).write(encoder.encode('to A'))
      assert.equal(await nextText(messages(a)), 'to A')
    } finally {
      await dispose(a, b, flowA)
      await listener.close()
    }
  },
)

test('a flow that closes frees its place under maxFlows', limit, async () => {
  const listener = listen({ type: 'udp', hostname: '127.0.0.1', port: 0, maxFlows: 1 })
  const { port } = await within(listener.opened, 5000, 'the UDP listener')
  const a = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
  const b = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
  const flows: Socket[] = []
  try {
    await within(Promise.all([a.opened, b.opened]), 5000, 'the clients')
    const iterator = listener[Symbol.asyncIterator]()
    await sender(a).write(encoder.encode('A'))
    const first = (await within(iterator.next(), 5000, 'the first flow')).value as Socket
    flows.push(first)
    await first.close()
    await sender(b).write(encoder.encode('B'))
    const second = (await within(iterator.next(), 5000, 'the second flow')).value as Socket
    flows.push(second)
    assert.equal(second.info.remotePort, b.info.localPort)
    assert.equal(await nextText(messages(second)), 'B')
  } finally {
    await dispose(a, b, ...flows)
    await listener.close()
  }
})

test(
  'past newFlowsPerSecond a new peer’s datagram is dropped with reason "rate", and opens a flow once the rate allows',
  limit,
  async () => {
    const listener = listen({ type: 'udp', hostname: '127.0.0.1', port: 0, newFlowsPerSecond: 1 })
    const drops: FlowDropEvent[] = []
    const dropped = Promise.withResolvers<void>()
    listener.addEventListener('drop', (event) => {
      drops.push(event as FlowDropEvent)
      dropped.resolve()
    })
    const { port } = await within(listener.opened, 5000, 'the UDP listener')
    const a = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
    const b = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
    const flows: Socket[] = []
    let resend: ReturnType<typeof setInterval> | undefined
    try {
      await within(Promise.all([a.opened, b.opened]), 5000, 'the clients')
      const iterator = listener[Symbol.asyncIterator]()
      const writerA = sender(a)
      await writerA.write(encoder.encode('A1'))
      const flowA = (await within(iterator.next(), 5000, 'the first flow')).value as Socket
      flows.push(flowA)
      const readerA = messages(flowA)
      assert.equal(await nextText(readerA), 'A1')

      // The bucket held one flow and A took it: B, at once after, is refused.
      const writerB = sender(b)
      await writerB.write(encoder.encode('B'))
      await within(dropped.promise, 5000, 'the drop event for the second peer')
      assert.equal(drops[0]?.reason, 'rate')
      assert.equal(drops[0]?.remotePort, b.info.localPort)

      // A's open flow is not limited.
      await writerA.write(encoder.encode('A2'))
      assert.equal(await nextText(readerA), 'A2')

      // B keeps trying (as a client retries); within about a second the bucket has a flow again.
      resend = setInterval(() => void writerB.write(encoder.encode('B')), 100)
      const flowB = (await within(iterator.next(), 5000, 'the second flow')).value as Socket
      flows.push(flowB)
      assert.equal(flowB.info.remotePort, b.info.localPort)
    } finally {
      clearInterval(resend)
      await dispose(a, b, ...flows)
      await listener.close()
    }
  },
)

test('maxFlows and newFlowsPerSecond must be whole numbers of 1 or more', () => {
  for (const name of ['maxFlows', 'newFlowsPerSecond']) {
    for (const value of [0, -1, 1.5, Number.NaN, '10']) {
      assert.throws(
        () => listen({ type: 'udp', [name]: value as number }),
        (error: unknown) =>
          error instanceof RangeError &&
          new RegExp(`Invalid ${name} .*: expected a whole number`).test(error.message),
      )
    }
  }
})
