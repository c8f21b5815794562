import assert from 'node:assert/strict'
import { test } from 'node:test'
import { healthOf } from './health.ts'

const up = [
  { worker: 'kv', replicas: 2 },
  { worker: 'mqtt', replicas: 1 },
]

test('ready: started, not draining, every worker has a replica', () => {
  assert.deepEqual(healthOf({ started: true, draining: false, workers: up }), {
    state: 'ready',
    status: 200,
    body: 'ready\n',
  })
})

test('failing before start has finished', () => {
  const health = healthOf({ started: false, draining: false, workers: [] })
  assert.equal(health.status, 503)
  assert.equal(health.body, 'failing: starting\n')
})

test('failing names the workers with no replica serving', () => {
  const one = healthOf({
    started: true,
    draining: false,
    workers: [...up, { worker: 'dns', replicas: 0 }],
  })
  assert.deepEqual(one, {
    state: 'failing',
    status: 503,
    body: 'failing: worker dns has no replica serving\n',
  })
  const two = healthOf({
    started: true,
    draining: false,
    workers: [
      { worker: 'a', replicas: 0 },
      { worker: 'b', replicas: 0 },
    ],
  })
  assert.equal(two.body, 'failing: workers a, b have no replica serving\n')
})

test('draining wins over ready and over failing', () => {
  for (const workers of [up, [{ worker: 'kv', replicas: 0 }]]) {
    assert.deepEqual(healthOf({ started: true, draining: true, workers }), {
      state: 'draining',
      status: 503,
      body: 'draining\n',
    })
  }
})
