import assert from 'node:assert/strict'
import { test } from 'node:test'
import { closeGrace, maxCloseGrace } from './close-grace.ts'

test('the close grace is the cap, or half a shorter idle timeout', () => {
  assert.equal(closeGrace({ idleTimeout: 30_000 }), maxCloseGrace)
  assert.equal(closeGrace({ idleTimeout: 0 }), maxCloseGrace)
  assert.equal(closeGrace({ idleTimeout: 1000 }), 500)
})
