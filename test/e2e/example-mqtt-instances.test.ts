/**
 * End to end: examples/mqtt as one broker over two `sockworker serve`
 * instances (standing in for two machines; the first with two replicas)
 * that share a real redis-server through the var `REDIS_URL`. The broker's
 * Redis connections are the worker's own, so each instance's egress policy
 * allows the Redis address and nothing else on loopback. Driven with
 * `mosquitto_sub` and `mosquitto_pub`:
 * - a subscriber on one instance gets what is published to the other;
 * - a retained message published to one reaches a late subscriber on the other;
 * - a persistent session (`-c -i ID`) subscribed on one, offline while QoS 1
 *   messages are published to the other, gets them all, in order, when it
 *   reconnects to the other instance.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { startRedis } from '../servers/redis.ts'
import { serveProject } from './support/harness.ts'
import { mosquittoPub, mosquittoSub, run } from './support/mosquitto.ts'

const worker = new URL('../../examples/mqtt/worker.ts', import.meta.url).pathname

function instanceToml(redis: { url: string; port: number }, replicas: number): string {
  return `[log]
format = "json"
[[workers]]
name = "mqtt"
script = ${JSON.stringify(worker)}
replicas = ${replicas}
vars = { REDIS_URL = "${redis.url}" }
[workers.egress]
allow = ["127.0.0.1:${redis.port}"]
[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
`
}

describe('examples/mqtt over two instances sharing Redis', async () => {
  const redis = await startRedis()
  after(() => redis.stop())
  const a = await serveProject({ 'sockworker.toml': instanceToml(redis, 2) }, 1)
  after(() => a[Symbol.asyncDispose]())
  const b = await serveProject({ 'sockworker.toml': instanceToml(redis, 1) }, 1)
  after(() => b[Symbol.asyncDispose]())
  const [portA = 0] = a.ports
  const [portB = 0] = b.ports

  test('a subscriber on A gets what a client publishes to B, at QoS 1', async () => {
    const subscriber = await mosquittoSub(portA, '-t', 'sensors/+/temp', '-q', '1', '-C', '2', '-v')
    assert.equal((await mosquittoPub(portB, '-t', 'sensors/kitchen/temp', '-m', '21.5')).code, 0)
    const sent = await mosquittoPub(portB, '-t', 'sensors/hall/temp', '-m', '19', '-q', '1')
    assert.equal(sent.code, 0)
    const { messages, debug } = await subscriber.done
    assert.deepEqual(messages, ['sensors/kitchen/temp 21.5', 'sensors/hall/temp 19'], debug)
    assert.match(debug, /received PUBLISH \(d0, q1, r0, m\d+, 'sensors\/hall\/temp'/)
  })

  test('a retained message published to B reaches a late subscriber on A', async () => {
    assert.equal(
      (await mosquittoPub(portB, '-t', 'status/boiler', '-m', 'on', '-r', '-q', '1')).code,
      0,
    )
    const late = await mosquittoSub(portA, '-t', 'status/#', '-C', '1', '-v')
    const { messages, debug } = await late.done
    assert.deepEqual(messages, ['status/boiler on'])
    assert.match(debug, /received PUBLISH \(d0, q0, r1/)
    assert.equal((await mosquittoPub(portA, '-t', 'status/boiler', '-n', '-r', '-q', '1')).code, 0)
  })

  test('under the sandbox of serve, a WebSocket handshake is refused with 501; MQTT still serves', async () => {
    const { stdout } = await run('curl', [
      '-s',
      '-i',
      '--max-time',
      '5',
      `http://127.0.0.1:${portA}/`,
    ])
    assert.match(stdout, /^HTTP\/1\.1 501 Not Implemented/)
    assert.match(stdout, /needs examples\/transcoder/)
    const subscriber = await mosquittoSub(portA, '-t', 'after/ws', '-C', '1')
    assert.equal((await mosquittoPub(portB, '-t', 'after/ws', '-m', 'fine')).code, 0)
    assert.deepEqual((await subscriber.done).messages, ['fine'])
  })

  test('a persistent session parked on A gets its queued QoS 1 messages on B', async () => {
    const id = ['-i', 'persistent-1', '-c', '-q', '1', '-t', 'alerts/#', '-v']
    // -E: exit once subscribed, leaving the session behind (clean session 0).
    const first = await mosquittoSub(portA, ...id, '-E')
    assert.equal((await first.done).code, 0)
    for (const door of ['open', 'closed', 'open again']) {
      const sent = await mosquittoPub(portB, '-t', 'alerts/door', '-m', door, '-q', '1')
      assert.equal(sent.code, 0)
    }
    assert.equal((await mosquittoPub(portB, '-t', 'alerts/door', '-m', 'q0 is not kept')).code, 0)
    // The queued messages come right after CONNACK, before the SUBACK of
    // mosquitto_sub's own SUBSCRIBE: run it to completion rather than wait for SUBACK.
    const back = await run(
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(portB), '-d', ...id].concat(['-C', '3', '-W', '10']),
    )
    const messages = back.stdout.split('\n').filter((line) => line.startsWith('alerts/'))
    assert.deepEqual(messages, ['alerts/door open', 'alerts/door closed', 'alerts/door open again'])
    // First deliveries: DUP clear (§3.3.1.1).
    assert.equal(back.stdout.match(/received PUBLISH \(d0, q1, r0/g)?.length, 3, back.stdout)
  })
})
