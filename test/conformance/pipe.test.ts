/**
 * `pipeTo()` between sockets: an echo (a socket piped to itself) and a proxy
 * (one socket piped to another). An adapter may move these bytes below the
 * streams (the Node adapter does), so each `pipeTo` option is checked here:
 * ordering with bytes already queued, `preventClose`, `preventAbort`,
 * `preventCancel`, `signal`, errors on either side, and backpressure.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, type Socket } from '@sockworker/sockets'
import {
  decoder,
  dispose,
  encoder,
  limit,
  pattern,
  patternByte,
  readAll,
  readBytes,
  readText,
  rejection,
  server,
  settlesWithin,
  within,
} from './util.ts'

/** A client and the socket the server accepted for it. */
async function pair(options: { allowHalfOpen?: boolean } = {}) {
  const s = await server(options)
  const client = connect(s.address, options)
  const accepted = await s.accept.next()
  return {
    client,
    accepted,
    async [Symbol.asyncDispose]() {
      await dispose(client, accepted)
      await s[Symbol.asyncDispose]()
    },
  }
}

async function write(socket: Socket, text: string | Uint8Array): Promise<void> {
  const writer = socket.writable.getWriter()
  try {
    await writer.write(typeof text === 'string' ? encoder.encode(text) : text)
  } finally {
    writer.releaseLock()
  }
}

test('an echo through pipeTo returns 8 MiB byte for byte', limit, async () => {
  await using p = await pair()
  void p.accepted.readable.pipeTo(p.accepted.writable).catch(() => {})
  const total = 8 * 1024 * 1024
  const reader = p.client.readable.getReader()
  const [, echoed] = await within(
    Promise.all([write(p.client, pattern(total)), readBytes(reader, total)]),
    20_000,
    'the echo',
  )
  assert.equal(echoed.byteLength, total)
  for (let i = 0; i < total; i++) {
    if (echoed[i] !== patternByte(i)) assert.fail(`byte ${i} differs`)
  }
})

test('an echo that ends its input returns every byte before the FIN', limit, async () => {
  // The fast path reads ahead while a write is outstanding and batches the
  // reads of one turn: the FIN that follows them in the same turn must wait.
  for (const size of [1, 70_000, 300_000, 3 * 1024 * 1024, 8 * 1024 * 1024]) {
    await using s = await server()
    const client = connect(s.address, { allowHalfOpen: true })
    const accepted = await s.accept.next()
    try {
      void accepted.readable.pipeTo(accepted.writable).catch(() => {})
      const writer = client.writable.getWriter()
      // Read only once the FIN is out: the echo's writes stall meanwhile,
      // so that the pipe holds chunks it read ahead when the FIN arrives.
      await within(
        writer.write(pattern(size)).then(() => writer.close()),
        10_000,
        `sending ${size} bytes`,
      )
      const echoed = await within(readAll(client.readable), 10_000, `the echo of ${size} bytes`)
      assert.equal(echoed.byteLength, size, `bytes echoed of ${size}`)
      for (let i = 0; i < size; i++) {
        if (echoed[i] !== patternByte(i)) assert.fail(`byte ${i} of ${size} differs`)
      }
    } finally {
      await dispose(client, accepted)
    }
  }
})

test('bytes queued in the readable before pipeTo go out first, in order', limit, async () => {
  await using p = await pair()
  const reader = p.accepted.readable.getReader()
  await write(p.client, 'one;')
  assert.equal(await readText(reader, 4), 'one;')
  await write(p.client, 'two;')
  // Let "two;" land in the readable's queue, unread.
  for (const deadline = Date.now() + 5000; p.accepted.stats.bytesReceived < 8; ) {
    assert.ok(Date.now() < deadline, '"two;" should arrive')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  reader.releaseLock()
  const piping = p.accepted.readable.pipeTo(p.accepted.writable)
  piping.catch(() => {})
  await write(p.client, 'three;')
  assert.equal(await readText(p.client.readable.getReader(), 10), 'two;three;')
})

test('a proxy pipes both ways, and the end of input closes the far side', limit, async () => {
  await using front = await pair({ allowHalfOpen: true })
  await using back = await pair({ allowHalfOpen: true })
  const up = front.accepted.readable.pipeTo(back.client.writable)
  const down = back.client.readable.pipeTo(front.accepted.writable)
  await write(front.client, 'request')
  const backReader = back.accepted.readable.getReader()
  assert.equal(await readText(backReader, 7), 'request')
  await front.client.writable.close() // FIN from the client
  await within(up, 5000, 'the upstream pipe to finish')
  backReader.releaseLock()
  assert.equal(decoder.decode(await readAll(back.accepted.readable)), '', 'FIN reached the backend')
  await write(back.accepted, 'late reply')
  await back.accepted.writable.close()
  await within(down, 5000, 'the downstream pipe to finish')
  assert.equal(decoder.decode(await readAll(front.client.readable)), 'late reply')
})

test(
  "closing a pipe's destination under a steady stream sends what the pipe read, then FIN",
  limit,
  async () => {
    await using front = await pair()
    await using back = await pair()
    front.accepted.readable.pipeTo(back.client.writable).catch(() => {})
    const writer = front.client.writable.getWriter()
    let sending = true
    const chunk = pattern(64 * 1024)
    const producer = (async () => {
      while (sending) await writer.write(chunk)
    })()
    producer.catch(() => {})
    const reader = back.accepted.readable.getReader()
    const first = await within(
      readBytes(reader, 1024 * 1024),
      5000,
      'the first MiB through the proxy',
    )
    // The stream keeps coming while the destination closes: close() waits for
    // the bytes the pipe had read, not for ever.
    const reading = (async () => {
      let got = first.byteLength
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return got
        for (let i = 0; i < value.byteLength; i++) {
          if (value[i] !== patternByte((got + i) % (64 * 1024)))
            assert.fail(`byte ${got + i} differs`)
        }
        got += value.byteLength
      }
    })()
    await within(back.client.close(), 5000, 'close() under a steady stream')
    const got = await within(reading, 5000, 'the FIN after the last byte')
    sending = false
    assert.ok(got >= first.byteLength)
  },
)

test('preventClose: the writable stays open after the source ends', limit, async () => {
  await using p = await pair({ allowHalfOpen: true })
  const piping = p.accepted.readable.pipeTo(p.accepted.writable, { preventClose: true })
  await write(p.client, 'ping')
  await p.client.writable.close()
  await within(piping, 5000, 'the pipe to finish')
  assert.equal(p.accepted.writable.locked, false, 'the pipe released the writer')
  await write(p.accepted, ' and more')
  await p.accepted.writable.close()
  assert.equal(decoder.decode(await readAll(p.client.readable)), 'ping and more')
})

test(
  'signal: the pipe rejects with the reason, aborting and cancelling both ends',
  limit,
  async () => {
    await using front = await pair()
    await using back = await pair()
    const controller = new AbortController()
    const piping = front.accepted.readable.pipeTo(back.client.writable, {
      signal: controller.signal,
    })
    await write(front.client, 'x')
    assert.equal(await readText(back.accepted.readable.getReader(), 1), 'x')
    const reason = new Error('stop the pipe')
    controller.abort(reason)
    assert.equal(await rejection(piping, 'the pipe'), reason)
    await within(
      back.client.closed.catch(() => {}),
      5000,
      'the destination to be aborted',
    )
    assert.equal(front.accepted.readable.locked, false)
    const { done } = await front.accepted.readable.getReader().read()
    assert.equal(done, true, 'the source was cancelled')
  },
)

test('signal with preventAbort and preventCancel: both ends stay usable', limit, async () => {
  await using front = await pair()
  await using back = await pair()
  const controller = new AbortController()
  const piping = front.accepted.readable.pipeTo(back.client.writable, {
    signal: controller.signal,
    preventAbort: true,
    preventCancel: true,
  })
  await write(front.client, 'a')
  assert.equal(await readText(back.accepted.readable.getReader(), 1), 'a')
  controller.abort(new Error('stop'))
  await rejection(piping, 'the pipe')
  await write(back.client, 'still writable')
  await write(front.client, 'still readable')
  assert.equal(await readText(front.accepted.readable.getReader(), 14), 'still readable')
})

test('a source error aborts the destination, unless preventAbort', limit, async () => {
  for (const preventAbort of [false, true]) {
    await using front = await pair()
    await using back = await pair()
    const piping = front.accepted.readable.pipeTo(back.client.writable, { preventAbort })
    await write(front.client, 'x')
    assert.equal(await readText(back.accepted.readable.getReader(), 1), 'x')
    const reason = new Error('source failed')
    front.accepted.abort(reason) // errors the source readable under the pipe
    assert.equal(await rejection(piping, 'the pipe'), reason)
    if (preventAbort) {
      await write(back.client, 'y')
    } else {
      await within(
        back.client.closed.catch(() => {}),
        5000,
        'the destination to be aborted',
      )
    }
  }
})

test('a destination error cancels the source, unless preventCancel', limit, async () => {
  for (const preventCancel of [false, true]) {
    await using front = await pair()
    await using back = await pair()
    const piping = front.accepted.readable.pipeTo(back.client.writable, { preventCancel })
    await write(front.client, 'x')
    assert.equal(await readText(back.accepted.readable.getReader(), 1), 'x')
    back.client.abort(new Error('backend gone'))
    await rejection(piping, 'the pipe')
    const reader = front.accepted.readable.getReader()
    if (preventCancel) {
      await write(front.client, 'kept')
      assert.equal(await readText(reader, 4), 'kept')
    } else {
      assert.equal((await reader.read()).done, true, 'the source was cancelled')
    }
  }
})

test('a proxy to a peer that does not read stalls the client, with bounded buffering', {
  timeout: 30_000,
}, async () => {
  await using front = await pair()
  await using back = await pair()
  front.accepted.readable.pipeTo(back.client.writable).catch(() => {})
  const writer = front.client.writable.getWriter()
  const chunk = pattern(64 * 1024)
  let taken = 0
  const producer = (async () => {
    for (let i = 0; i < 2048; i++) {
      await writer.ready
      writer.write(chunk).catch(() => {})
      taken++
    }
  })()
  producer.catch(() => {})
  // As in backpressure.test.ts: stalled once no chunk was taken for two 250 ms periods.
  let last = -1
  let still = 0
  const deadline = performance.now() + 15_000
  while (still < 2) {
    if (await settlesWithin(producer, 250))
      assert.fail('128 MiB went through to a peer that reads nothing')
    still = taken === last ? still + 1 : 0
    last = taken
    if (performance.now() > deadline) assert.fail(`the client never stalled (${taken} chunks)`)
  }
  assert.ok(taken * 64 * 1024 < 64 * 1024 * 1024, `${taken} chunks were taken before the stall`)
  // Once the backend reads, everything arrives in order.
  const reader = back.accepted.readable.getReader()
  const got = await within(readBytes(reader, 1024 * 1024), 10_000, 'the first MiB')
  for (let i = 0; i < got.byteLength; i++) {
    if (got[i] !== patternByte(i % (64 * 1024))) assert.fail(`byte ${i} differs`)
  }
})
