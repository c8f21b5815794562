import assert from 'node:assert/strict'
import { test } from 'node:test'
import { heartbeatInterval, isBlocked, watchdogInterval } from './heartbeat.ts'

test('heartbeats come every cpu_ms / 4, between 10 and 250 ms', () => {
  assert.equal(heartbeatInterval(2000), 250)
  assert.equal(heartbeatInterval(400), 100)
  assert.equal(heartbeatInterval(20), 10)
  assert.equal(heartbeatInterval(1001), 250)
})

test('several heartbeats fit in every cpu_ms window, so a healthy replica is never killed', () => {
  for (const cpuMs of [50, 100, 250, 1000, 2000, 60_000]) {
    assert.ok(cpuMs / heartbeatInterval(cpuMs) >= 4, String(cpuMs))
    assert.ok(watchdogInterval(cpuMs) <= cpuMs / 4 || watchdogInterval(cpuMs) === 10)
  }
})

test('a replica is blocked once silent for longer than cpu_ms, not at cpu_ms', () => {
  assert.equal(isBlocked(1000, 3000, 2000), false)
  assert.equal(isBlocked(1000, 3001, 2000), true)
})
