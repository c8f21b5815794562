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
import { within } from '../helpers/timers.ts'
import { startRedis } from '../servers/redis.ts'
import { serveProject } from './support/harness.ts'
import { mosquittoPub, mosquittoSub, run } from './support/mosquitto.ts'

const worker = new URL('../../examples/mqtt/worker.ts', import.meta.url).pathname

const transcoder = new URL('../../examples/transcoder/', import.meta.url).pathname

/** `websocket`: whether the sandbox may read the transcoder's WebSocket codec. */
function instanceToml(
  redis: { url: string; port: number },
  replicas: number,
  websocket: boolean,
): string {
  const sandbox = websocket ? `[workers.sandbox]\nread = [${JSON.stringify(transcoder)}]\n` : ''
  return `[log]
format = "json"
[[workers]]
name = "mqtt"
script = ${JSON.stringify(worker)}
replicas = ${replicas}
vars = { REDIS_URL = "${redis.url}" }
[workers.egress]
allow = ["127.0.0.1:${redis.port}"]
${sandbox}[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
`
}

describe('examples/mqtt over two instances sharing Redis', async () => {
  const redis = await startRedis()
  after(() => redis.stop())
  const a = await serveProject({ 'sockworker.toml': instanceToml(redis, 2, true) }, 1)
  after(() => a[Symbol.asyncDispose]())
  const b = await serveProject({ 'sockworker.toml': instanceToml(redis, 1, false) }, 1)
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

  test('MQTT over WebSocket under the serve sandbox: A (read = transcoder) serves it; B refuses with 501', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${portA}`, 'mqtt')
    ws.binaryType = 'arraybuffer'
    const { promise: suback, resolve: subacked } = Promise.withResolvers<void>()
    const { promise: got, resolve: gotPublish } = Promise.withResolvers<Buffer>()
    ws.addEventListener('message', (event) => {
      const bytes = Buffer.from(event.data as ArrayBuffer)
      if (bytes[0] === 0x90) subacked()
      if (bytes[0] === 0x30) gotPublish(bytes)
    })
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve)
      ws.addEventListener('error', reject)
    })
    assert.equal(ws.protocol, 'mqtt')
    const str = (text: string) => Buffer.concat([Buffer.of(0, text.length), Buffer.from(text)])
    const connect = Buffer.concat([str('MQTT'), Buffer.of(4, 2, 0, 60), str('ws-1')])
    ws.send(Buffer.concat([Buffer.of(0x10, connect.length), connect]))
    const subscribe = Buffer.concat([Buffer.of(0, 1), str('ws/t'), Buffer.of(0)])
    ws.send(Buffer.concat([Buffer.of(0x82, subscribe.length), subscribe]))
    await within(suback, 5000, 'SUBACK over WebSocket')
    assert.equal((await mosquittoPub(portB, '-t', 'ws/t', '-m', 'to ws on A')).code, 0)
    const publish = await within(got, 5000, 'the PUBLISH over WebSocket')
    assert.equal(publish.subarray(8).toString(), 'to ws on A')
    ws.close()

    const url = `http://127.0.0.1:${portB}/`
    const { stdout } = await run('curl', ['-s', '-i', '--max-time', '5', url])
    assert.match(stdout, /^HTTP\/1\.1 501 Not Implemented/)
    assert.match(stdout, /needs examples\/transcoder/)
    const subscriber = await mosquittoSub(portB, '-t', 'after/ws', '-C', '1')
    assert.equal((await mosquittoPub(portA, '-t', 'after/ws', '-m', 'fine')).code, 0)
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
