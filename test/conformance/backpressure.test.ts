/**
 * Backpressure holds end to end: writing 256 MiB to a peer that does not read
 * must stall the writer through TCP flow control, without buffering the data
 * in the process; once the peer reads, every byte arrives intact.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect } from '@sockworker/sockets'
import { dispose, pattern, server, settlesWithin, within } from './util.ts'

const CHUNK = 64 * 1024
const COUNT = 4096
const TOTAL = CHUNK * COUNT // 256 MiB
const LIMIT = 64 * 1024 * 1024

interface Memory {
  rss: number
  arrayBuffers: number
}

/** Memory figures where the runtime offers them (Node.js, Deno and Bun all have `process`). */
function memory(): Memory | undefined {
  const runtime = globalThis as { process?: { memoryUsage?: () => Memory } }
  return runtime.process?.memoryUsage?.()
}

test('a peer that does not read stalls the writer, with bounded memory', {
  timeout: 30_000,
}, async () => {
  await using s = await server()
  const socket = connect(s.address)
  try {
    const accepted = await s.accept.next() // its readable stays untouched until the stall
    const writer = socket.writable.getWriter()
    const chunk = pattern(CHUNK) // one buffer, written 4096 times
    const before = memory()

    let taken = 0
    const producer = (async () => {
      for (let i = 0; i < COUNT; i++) {
        await writer.ready
        writer.write(chunk).catch(() => {})
        taken++
      }
      await writer.close()
    })()
    producer.catch(() => {})

    // No event says "the writer is blocked", so this polls: the writer has stalled
    // when it took no chunk for two 250 ms periods in a row. The must-not-happen
    // outcome, the producer finishing while the peer reads nothing, ends the wait.
    const deadline = performance.now() + 15_000
    let last = -1
    let still = 0
    while (still < 2) {
      if (await settlesWithin(producer, 250)) {
        assert.fail(`the writer took all ${TOTAL} bytes while the peer read nothing`)
      }
      still = taken === last ? still + 1 : 0
      last = taken
      if (performance.now() > deadline) assert.fail(`the writer never stalled (${taken} chunks)`)
    }
    assert.ok(taken < COUNT, 'the writer stalled before the end')
    assert.ok(
      taken * CHUNK < LIMIT,
      `${taken * CHUNK} bytes were taken before the stall; socket buffers hold far less`,
    )
    const during = memory()
    if (before && during) {
      const growth = during.arrayBuffers - before.arrayBuffers
      assert.ok(growth < LIMIT, `arrayBuffers grew by ${growth} bytes while stalled`)
      const rss = during.rss - before.rss
      assert.ok(rss < 2 * LIMIT, `rss grew by ${rss} bytes while stalled`)
    }

    // Now the peer reads everything, and checks every byte at its offset.
    const reader = accepted.readable.getReader()
    let received = 0
    let mismatch = -1
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      for (let i = 0; i < value.byteLength; i++) {
        if (value[i] !== chunk[(received + i) & (CHUNK - 1)]) {
          mismatch = received + i
          break
        }
      }
      if (mismatch !== -1) break
      received += value.byteLength
    }
    assert.equal(mismatch, -1, `byte ${mismatch} differs from what was written`)
    await within(producer, 10_000, 'the writer to finish')
    assert.equal(received, TOTAL)
  } finally {
    await dispose(socket)
  }
})
