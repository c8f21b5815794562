/**
 * End to end: the unmodified `ioredis` driver (node:net inside the worker,
 * under the egress policy) in a worker run by `sockworker serve`, against a
 * real redis-server. The server and `serve` start once; the tests run in
 * order, and the last one kills the server during a BLPOP.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Redis } from 'ioredis'
import { type RedisServer, startRedis } from '../servers/redis.ts'
import { driverFixture, getJson, httpWorkerToml } from './drivers/harness.ts'
import { jsonLog, type Served, serveProject } from './support/harness.ts'

describe('ioredis inside a worker', { concurrency: false }, () => {
  let server: RedisServer
  let served: Served
  /** The test's own client, to push, and to see what the worker's connection does. */
  let observer: Redis
  let port = 0

  before(async () => {
    server = await startRedis()
    observer = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null })
    observer.on('error', () => {})
    const toml =
      jsonLog +
      httpWorkerToml({
        name: 'redis',
        script: driverFixture('redis.ts'),
        vars: { REDIS_URL: server.url },
        allow: [`127.0.0.1:${server.port}`],
      })
    served = await serveProject({ 'sockworker.toml': toml }, 1)
    ;[port = 0] = served.ports
  })

  after(async () => {
    // ioredis waits 2 s for a 'close' that never comes on a stream that has already ended.
    if (observer?.status !== 'end') observer?.disconnect()
    await served?.[Symbol.asyncDispose]()
    await server?.stop()
  })

  test('SET, GET and INCR, on one connection across requests', async () => {
    const ids = new Set()
    for (let i = 0; i < 3; i++) {
      const { status, body } = await getJson(port, `/counter?key=c${i}`)
      assert.equal(status, 200, JSON.stringify(body))
      assert.deepEqual([body['set'], body['got'], body['incr']], ['OK', '41', 42])
      ids.add(body['id'])
    }
    assert.equal(ids.size, 1, `one connection served every request: ${[...ids]}`)
    assert.equal(await observer.get('c2'), '42')
  })

  test('a pipeline', async () => {
    const { status, body } = await getJson(port, '/pipeline?key=p')
    assert.equal(status, 200, JSON.stringify(body))
    assert.deepEqual(body['results'], ['OK', 2, 12, '12'])
  })

  test('BLPOP waits in the worker until the test pushes', async () => {
    const popped = getJson(port, '/blpop?key=jobs&seconds=10')
    await waitForBlocked(observer, 1)
    await observer.lpush('jobs', 'job-1')
    assert.deepEqual((await popped).body, { popped: ['jobs', 'job-1'] })
  })

  test('the server goes away during BLPOP: the driver gets an error, not a hang', async (t) => {
    const from = served.logs().length
    const popped = getJson(port, '/blpop?key=never&seconds=30')
    await waitForBlocked(observer, 1)
    const killed = performance.now()
    await server.stop({ force: true })
    const { status, body } = await popped
    const elapsed = performance.now() - killed
    t.diagnostic(`${JSON.stringify(body)} after ${Math.round(elapsed)} ms`)
    assert.ok(elapsed < 5000, `the error arrived ${Math.round(elapsed)} ms after the kill`)
    assert.equal(status, 500)
    assert.match(String(body['error']), /max retries per request|Connection is closed/i)
    const next = await getJson(port, '/counter?key=after', 5000)
    assert.equal(next.status, 500, JSON.stringify(next.body))
    const restarts = served
      .logs()
      .slice(from)
      .filter((e) => e.msg === 'replica started')
    assert.deepEqual(restarts, [], 'the replica did not crash')
  })
})

/** Waits (bounded) until `count` clients are blocked on the server. */
async function waitForBlocked(observer: Redis, count: number): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const info = await observer.info('clients')
    if (Number(/blocked_clients:(\d+)/.exec(info)?.[1]) >= count) return
    if (Date.now() > deadline) throw new Error(`Fewer than ${count} clients blocked:\n${info}`)
  }
}
