/**
 * The fuzzing engine finds what it is there to find: a planted crash, a
 * slow input, a large allocation, an endless loop and an out-of-memory
 * abort, each with the input that caused it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runTarget } from '../../fuzz/engine/run-target.ts'
import { supervise } from '../../fuzz/engine/supervise.ts'
import { expectOnly, type FuzzTarget } from '../../fuzz/engine/target.ts'

const options = { runs: 500, seed: 7, hangMs: 50, allocBytes: 16 << 20 }
const planted = (check: FuzzTarget['check']): FuzzTarget => ({
  seeds: [Uint8Array.of(0x42, 1, 2, 3)],
  check,
})

test('an undocumented error is a crash, a documented one is not', async () => {
  const stats = await runTarget(
    planted((input) => {
      expectOnly(() => {
        if (input[0] === 0x42) throw new RangeError('documented')
      }, [RangeError])
      if (input[1] === 1) throw new Error('planted bug')
    }),
    options,
  )
  assert.ok(stats.crashes > 0)
  assert.deepEqual(
    stats.findings.map((finding) => finding.message),
    ['Error: planted bug'],
  )
  assert.equal(stats.findings[0]?.input[1], 1)
})

test('a slow input is a hang, a large allocation is an unbounded allocation', async () => {
  let kept: Uint8Array | undefined
  const stats = await runTarget(
    planted((input) => {
      if (input.length === 4 && input[0] === 0x42 && input[3] === 3) {
        const until = performance.now() + 60
        while (performance.now() < until) {}
        kept ??= new Uint8Array(32 << 20)
      }
    }),
    { ...options, runs: 50 },
  )
  assert.ok(kept !== undefined)
  assert.ok(stats.hangs > 0 && stats.allocs > 0, JSON.stringify(stats))
  assert.deepEqual([...(stats.findings[0]?.input ?? [])], [0x42, 1, 2, 3])
})

test('the supervisor stops an endless loop and resumes after it', async () => {
  const file = new URL('./planted/hang.ts', import.meta.url).pathname
  const stats = await supervise(file, {
    ...options,
    runs: 3,
    stallMs: 500,
    heapMb: 256,
    maxMs: 60_000,
  })
  assert.ok(stats.hangs > 0)
  assert.equal(stats.findings[0]?.kind, 'hang')
  assert.equal(stats.findings[0]?.input[0], 0x42)
  assert.equal(stats.inputs, 3)
})

test('the supervisor survives an out-of-memory abort and names the input', async () => {
  const file = new URL('./planted/oom.ts', import.meta.url).pathname
  const stats = await supervise(file, {
    ...options,
    runs: 3,
    stallMs: 30_000,
    heapMb: 64,
    maxMs: 60_000,
  })
  assert.ok(stats.allocs > 0)
  assert.equal(stats.inputs, 3)
  assert.match(stats.findings[0]?.message ?? '', /out of memory/)
  assert.equal(stats.findings[0]?.input[0], 0x42)
})
