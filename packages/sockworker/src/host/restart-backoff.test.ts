import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RestartBackoff } from './restart-backoff.ts'

test('the delay starts at 20 ms and grows 4× per crash up to 5 s', () => {
  const backoff = new RestartBackoff()
  const delays = Array.from({ length: 7 }, () => backoff.next(5))
  assert.deepEqual(delays, [20, 80, 320, 1280, 5000, 5000, 5000])
})

test('a replica that ran 10 s without trouble resets the delay', () => {
  const backoff = new RestartBackoff()
  backoff.next(5)
  backoff.next(5)
  assert.equal(backoff.next(10_000), 320, 'exactly 10 s is not yet stable')
  assert.equal(backoff.next(10_001), 20)
  assert.equal(backoff.next(5), 80)
})

test('the figures can be set', () => {
  const backoff = new RestartBackoff({ firstMs: 1, factor: 2, maxMs: 5, stableMs: 100 })
  assert.deepEqual(
    [1, 2, 3, 4].map(() => backoff.next(0)),
    [1, 2, 4, 5],
  )
})
