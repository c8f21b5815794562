/**
 * End to end: examples/mqtt under `sockworker dev` with its retained
 * messages in a storage binding (`--storage RETAINED=<tmp>/mqtt.sqlite`),
 * driven by the Mosquitto
 * command-line clients (mosquitto_sub, mosquitto_pub) and, for what those
 * clients will not send (a will then a dropped socket, silence past the
 * keep-alive, broken packets), by a raw node:net client writing bytes.
 * Subscribers run with `-d` (line-buffered through `stdbuf`) so the test
 * publishes only once their SUBACK has arrived; no test sleeps.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { decodeRemainingLength, encodeRemainingLength } from '../../examples/mqtt/codec.ts'
import { decodeRetained, encodeRetained } from '../../examples/mqtt/retained.ts'
import { type Cli, readyPorts, startCli, tempProject } from './cli.ts'
import { mosquittoPub, mosquittoSub } from './support/mosquitto.ts'

const worker = new URL('../../examples/mqtt/worker.ts', import.meta.url).pathname

let cli: Cli
let port: number

const pub = (...args: string[]) => mosquittoPub(port, ...args)
const sub = (...args: string[]) => mosquittoSub(port, ...args)

/** Bytes for a packet: header byte, remaining length, body. */
function packet(header: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts)
  return Buffer.concat([Buffer.from([header, ...encodeRemainingLength(body.length)]), body])
}

const str = (text: string) => {
  const bytes = Buffer.from(text)
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
}
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff])

function connectPacket(options: {
  clientId: string
  keepAlive?: number
  level?: number
  clean?: boolean
  will?: { topic: string; message: string }
}): Buffer {
  const { clientId, keepAlive = 60, level = 4, clean = true, will } = options
  const flags = (clean ? 0x02 : 0) | (will ? 0x04 : 0)
  const parts = [str('MQTT'), Buffer.from([level, flags]), u16(keepAlive), str(clientId)]
  if (will) parts.push(str(will.topic), str(will.message))
  return packet(0x10, ...parts)
}

/** A node:net client that reads bytes on demand and reports the close. */
class RawClient {
  socket: Socket
  received = Buffer.alloc(0)
  #read = 0
  #wake: (() => void) | undefined
  closed: Promise<void>

  constructor() {
    this.socket = connect({ host: '127.0.0.1', port })
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk])
      this.#wake?.()
    })
    this.socket.on('error', () => {})
    this.closed = once(this.socket, 'close').then(() => this.#wake?.())
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes)
  }

  /** The next `n` bytes; rejects if the connection closes or 5 s pass first. */
  async read(n: number): Promise<Buffer> {
    const deadline = AbortSignal.timeout(5000)
    while (this.received.length < this.#read + n) {
      if (this.socket.destroyed || deadline.aborted) {
        throw new Error(
          `Wanted ${n} bytes; have ${this.received.subarray(this.#read).toString('hex')}`,
        )
      }
      const { promise, resolve } = Promise.withResolvers<void>()
      this.#wake = resolve
      const timer = setTimeout(resolve, 250)
      await promise
      clearTimeout(timer)
    }
    this.#read += n
    return this.received.subarray(this.#read - n, this.#read)
  }

  /** Connects and checks the CONNACK (accepted; session present or not). */
  async handshake(options: Parameters<typeof connectPacket>[0], present = false): Promise<void> {
    this.send(connectPacket(options))
    assert.deepEqual([...(await this.read(4))], [0x20, 2, present ? 1 : 0, 0])
  }

  /** Resolves when the broker closes the connection; fails after `ms`. */
  async expectClose(ms = 5000): Promise<void> {
    const timer = setTimeout(() => this.socket.destroy(new Error('not closed')), ms)
    await this.closed
    clearTimeout(timer)
    assert.ok(!this.socket.errored, 'the broker closed the connection')
  }
}

/** Starts the broker under `sockworker dev`; `extra` adds e.g. `--storage`. */
async function start(...extra: string[]): Promise<void> {
  cli = startCli(['dev', worker, '--tcp', '0', ...extra])
  ;({ tcp: port = 0 } = await readyPorts(cli, ['tcp']))
}

describe('examples/mqtt with mosquitto clients', { concurrency: false, timeout: 30_000 }, () => {
  let project: Awaited<ReturnType<typeof tempProject>>
  const withStorage = () => start('--storage', `RETAINED=${project.path('mqtt.sqlite')}`)

  before(async () => {
    project = await tempProject({})
    await withStorage()
  })
  after(async () => {
    await cli?.stop()
    await project?.[Symbol.asyncDispose]()
  })

  test('remaining length: 1 to 4 bytes, a fifth is malformed', () => {
    for (const n of [0, 127, 128, 16_383, 16_384, 268_435_455]) {
      const bytes = Uint8Array.from(encodeRemainingLength(n))
      assert.deepEqual(decodeRemainingLength(bytes, 0), { value: n, bytes: bytes.length })
    }
    assert.equal(decodeRemainingLength(Uint8Array.of(0x80, 0x80), 0), undefined)
    assert.throws(() => decodeRemainingLength(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x01), 0))
  })

  test('a retained value is the QoS byte then the payload', () => {
    const message = {
      topic: 't',
      payload: Uint8Array.of(0x61, 0x62),
      qos: 1 as const,
      retain: true,
    }
    const value = encodeRetained(message)
    assert.deepEqual([...value], [1, 0x61, 0x62])
    assert.deepEqual(decodeRetained('t', value), { ...message, payload: value.subarray(1) })
    assert.equal(decodeRetained('t', 'a string'), undefined)
    assert.equal(decodeRetained('t', Uint8Array.of(7, 0x61)), undefined)
  })

  test('a wildcard subscriber gets what is published', async () => {
    const subscriber = await sub('-t', 'sensors/+/temp', '-t', 'home/#', '-v', '-C', '2', '-W', '5')
    assert.equal((await pub('-t', 'sensors/kitchen/humidity', '-m', 'no')).code, 0)
    assert.equal((await pub('-t', 'sensors/kitchen/temp', '-m', '21.5')).code, 0)
    assert.equal((await pub('-t', 'home', '-m', 'parent level')).code, 0)
    const { code, messages } = await subscriber.done
    assert.equal(code, 0)
    assert.deepEqual(messages, ['sensors/kitchen/temp 21.5', 'home parent level'])
  })

  test('QoS 1 round trip: PUBACK to the publisher, QoS 1 to the subscriber', async () => {
    const subscriber = await sub('-t', 'q/1', '-q', '1', '-C', '1', '-W', '5')
    const publisher = await pub('-t', 'q/1', '-q', '1', '-m', 'at least once', '-d')
    assert.equal(publisher.code, 0)
    assert.match(publisher.stdout, /received PUBACK/)
    const { code, messages, debug } = await subscriber.done
    assert.equal(code, 0)
    assert.deepEqual(messages, ['at least once'])
    assert.match(debug, /Subscribed \(mid: \d+\): 1/)
    assert.match(debug, /received PUBLISH \(d0, q1, r0, m\d+, 'q\/1'/)
    assert.match(debug, /sending PUBACK/)
  })

  test('a retained message reaches a late subscriber, and an empty one clears it', async () => {
    assert.equal((await pub('-t', 'retained/a', '-m', 'first', '-r')).code, 0)
    const late = await sub('-t', 'retained/+', '-v', '-C', '1', '-W', '5')
    const first = await late.done
    assert.deepEqual(first.messages, ['retained/a first'])
    assert.match(first.debug, /received PUBLISH \(d0, q0, r1,/)

    assert.equal((await pub('-t', 'retained/a', '-n', '-r')).code, 0)
    assert.equal((await pub('-t', 'retained/b', '-m', 'second', '-r')).code, 0)
    const later = await sub('-t', 'retained/+', '-v', '-C', '1', '-W', '5')
    assert.deepEqual((await later.done).messages, ['retained/b second'])
    assert.equal((await pub('-t', 'retained/b', '-n', '-r')).code, 0)
  })

  test('the last will goes out when a client drops, not when it says DISCONNECT', async () => {
    const watcher = await sub('-t', 'will/#', '-v', '-C', '2', '-W', '5')
    const polite = new RawClient()
    await polite.handshake({ clientId: 'polite', will: { topic: 'will/polite', message: 'no' } })
    polite.send(Buffer.from([0xe0, 0]))
    await polite.expectClose()
    const rude = new RawClient()
    await rude.handshake({ clientId: 'rude', will: { topic: 'will/rude', message: 'gone' } })
    rude.socket.destroy()
    assert.equal((await pub('-t', 'will/marker', '-m', 'after')).code, 0)
    assert.deepEqual((await watcher.done).messages, ['will/rude gone', 'will/marker after'])
  })

  test('keep-alive: a silent client is dropped after 1.5 × its interval, and its will sent', async () => {
    const watcher = await sub('-t', 'silent/will', '-C', '1', '-W', '5')
    const silent = new RawClient()
    const started = performance.now()
    await silent.handshake({
      clientId: 'silent',
      keepAlive: 1,
      will: { topic: 'silent/will', message: 'timed out' },
    })
    await silent.expectClose(4000)
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 1400 && elapsed < 3000, `closed after ${elapsed} ms`)
    assert.deepEqual((await watcher.done).messages, ['timed out'])
  })

  test('PINGREQ, SUBSCRIBE with a bad filter, UNSUBSCRIBE', async () => {
    const client = new RawClient()
    await client.handshake({ clientId: 'raw' })
    client.send(packet(0xc0))
    assert.deepEqual([...(await client.read(2))], [0xd0, 0])
    // three filters: QoS 2 is granted as 1, 'a/#/b' is invalid (0x80)
    client.send(packet(0x82, u16(7), str('u/+'), Buffer.from([2]), str('a/#/b'), Buffer.from([0])))
    assert.deepEqual([...(await client.read(6))], [0x90, 4, 0, 7, 1, 0x80])
    client.send(packet(0xa2, u16(8), str('u/+')))
    assert.deepEqual([...(await client.read(4))], [0xb0, 2, 0, 8])
    // unsubscribed: a publish acknowledged before our PINGREQ is not delivered
    assert.equal((await pub('-t', 'u/x', '-q', '1', '-m', 'not for raw')).code, 0)
    client.send(packet(0xc0))
    assert.deepEqual([...(await client.read(2))], [0xd0, 0])
    client.socket.end()
  })

  test('QoS 2 from the publisher is acknowledged (PUBREC, PUBCOMP) and delivered at QoS 1', async () => {
    const subscriber = await sub('-t', 'q/2', '-q', '2', '-C', '1', '-W', '5')
    const publisher = await pub('-t', 'q/2', '-q', '2', '-m', 'exactly once', '-d')
    assert.equal(publisher.code, 0)
    assert.match(publisher.stdout, /received PUBREC[\s\S]*received PUBCOMP/)
    const { messages, debug } = await subscriber.done
    assert.deepEqual(messages, ['exactly once'])
    assert.match(debug, /Subscribed \(mid: \d+\): 1/)
  })

  test('a persistent session keeps its subscriptions; a second connection takes over the id', async () => {
    const first = new RawClient()
    await first.handshake({ clientId: 'keeper', clean: false })
    first.send(packet(0x82, u16(1), str('kept/topic'), Buffer.from([1])))
    assert.deepEqual([...(await first.read(5))], [0x90, 3, 0, 1, 1])
    const second = new RawClient()
    await second.handshake({ clientId: 'keeper', clean: false }, true)
    await first.expectClose()
    assert.equal((await pub('-t', 'kept/topic', '-q', '1', '-m', 'hi')).code, 0)
    const publish = await second.read(2 + 2 + 'kept/topic'.length + 2 + 2)
    assert.equal(publish[0], 0x32) // PUBLISH, QoS 1
    assert.equal(publish.subarray(4, 14).toString(), 'kept/topic')
    assert.equal(publish.subarray(16).toString(), 'hi')
    second.send(packet(0x40, publish.subarray(14, 16)))
    second.send(Buffer.from([0xe0, 0]))
    await second.expectClose()
    const fresh = new RawClient()
    await fresh.handshake({ clientId: 'keeper', clean: true })
    fresh.send(Buffer.from([0xe0, 0]))
    await fresh.expectClose()
  })

  test('QoS 1 redelivery: unacknowledged messages come again with DUP on reconnect, then the offline queue', async () => {
    const topic = 'redo/topic'
    const publishBytes = (payload: string) => 2 + 2 + topic.length + 2 + payload.length
    const first = new RawClient()
    await first.handshake({ clientId: 'redo', clean: false })
    first.send(packet(0x82, u16(1), str(topic), Buffer.from([1])))
    assert.deepEqual([...(await first.read(5))], [0x90, 3, 0, 1, 1])
    assert.equal((await pub('-t', topic, '-q', '1', '-m', 'unacked')).code, 0)
    const unacked = await first.read(publishBytes('unacked'))
    assert.equal(unacked[0], 0x32) // QoS 1, DUP clear: a first delivery
    first.socket.destroy() // gone without PUBACK
    await first.closed
    // While it is away: QoS 1 is queued for it, QoS 0 is not.
    assert.equal((await pub('-t', topic, '-q', '1', '-m', 'queued')).code, 0)
    assert.equal((await pub('-t', topic, '-m', 'dropped')).code, 0)
    const back = new RawClient()
    await back.handshake({ clientId: 'redo', clean: false }, true)
    const again = await back.read(publishBytes('unacked'))
    assert.equal(again[0], 0x3a) // QoS 1 with DUP (§3.3.1.1)
    assert.equal(again.subarray(16).toString(), 'unacked')
    const queued = await back.read(publishBytes('queued'))
    assert.equal(queued[0], 0x32)
    assert.equal(queued.subarray(16).toString(), 'queued')
    back.send(packet(0x40, again.subarray(14, 16)))
    back.send(packet(0x40, queued.subarray(14, 16)))
    back.send(Buffer.from([0xe0, 0]))
    await back.expectClose()
    // Acknowledged: nothing comes again.
    const last = new RawClient()
    await last.handshake({ clientId: 'redo', clean: false }, true)
    last.send(Buffer.from([0xc0, 0])) // PINGREQ: its PINGRESP must be the next bytes
    assert.deepEqual([...(await last.read(2))], [0xd0, 0])
    last.send(Buffer.from([0xe0, 0]))
    await last.expectClose()
  })

  test('a subscriber that stops reading is cut off once 1 MiB waits for it, not buffered without end', async () => {
    const slow = new RawClient()
    await slow.handshake({ clientId: 'slow', clean: true })
    slow.send(packet(0x82, u16(1), str('flood'), Buffer.from([1])))
    assert.deepEqual([...(await slow.read(5))], [0x90, 3, 0, 1, 1])
    slow.socket.pause() // reads nothing more: the kernel buffers fill, then the broker's
    const publisher = new RawClient()
    await publisher.handshake({ clientId: 'flooder', clean: true })
    const payload = Buffer.alloc(64 * 1024, 0x61)
    // 32 MiB at most, more than loopback socket buffers hold; the broker
    // must close the slow subscriber well before that.
    // At QoS 1, so the policy closes the subscriber rather than dropping for it.
    // A paused socket reports no close, so the broker's warning is the signal.
    let sent = 0
    const cutOff = () => cli.output.includes('mqtt: "slow" is slow with a QoS 1 message pending')
    while (sent < 512 && !cutOff()) {
      for (let i = 0; i < 16; i++) {
        sent++
        publisher.send(packet(0x32, str('flood'), u16(sent), payload))
      }
      publisher.send(Buffer.from([0xc0, 0]))
      await publisher.read(16 * 4 + 2) // 16 PUBACKs, then PINGRESP: all routed
    }
    assert.ok(cutOff(), `the slow subscriber was not cut off after ${sent} × 64 KiB`)
    slow.socket.resume()
    await slow.expectClose()
    publisher.send(Buffer.from([0xe0, 0]))
    await publisher.expectClose()
  })

  test('MQTT over WebSocket (subprotocol mqtt) on the same port meets plain MQTT clients', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, 'mqtt')
    ws.binaryType = 'arraybuffer'
    let received = Buffer.alloc(0)
    let wake = () => {}
    ws.addEventListener('message', (event) => {
      received = Buffer.concat([received, Buffer.from(event.data as ArrayBuffer)])
      wake()
    })
    const closed = new Promise((resolve) => ws.addEventListener('close', resolve))
    const take = async (n: number) => {
      const deadline = Date.now() + 5000
      while (received.length < n) {
        assert.ok(Date.now() < deadline, `got ${received.length} of ${n} bytes over WebSocket`)
        const { promise, resolve } = Promise.withResolvers<void>()
        wake = resolve
        setTimeout(resolve, 100)
        await promise
      }
      const bytes = received.subarray(0, n)
      received = received.subarray(n)
      return bytes
    }
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve)
      ws.addEventListener('error', reject)
    })
    assert.equal(ws.protocol, 'mqtt')
    ws.send(connectPacket({ clientId: 'over-ws' }))
    assert.deepEqual([...(await take(4))], [0x20, 2, 0, 0])
    ws.send(packet(0x82, u16(1), str('ws/topic'), Buffer.from([0])))
    assert.deepEqual([...(await take(5))], [0x90, 3, 0, 1, 0])
    assert.equal((await pub('-t', 'ws/topic', '-m', 'from tcp')).code, 0)
    const publish = await take(2 + 2 + 'ws/topic'.length + 'from tcp'.length)
    assert.equal(publish[0], 0x30)
    assert.equal(publish.subarray(12).toString(), 'from tcp')
    // And the other way: a WebSocket client publishes to a TCP subscriber.
    const subscriber = await sub('-t', 'ws/back', '-C', '1', '-W', '5')
    ws.send(packet(0x30, str('ws/back'), Buffer.from('from ws')))
    assert.deepEqual((await subscriber.done).messages, ['from ws'])
    ws.send(Buffer.from([0xe0, 0]))
    await closed
  })

  test('refused CONNECTs: protocol level 3 gets code 1, an empty id without clean session code 2', async () => {
    const old = new RawClient()
    old.send(connectPacket({ clientId: 'old', level: 3 }))
    assert.deepEqual([...(await old.read(4))], [0x20, 2, 0, 1])
    await old.expectClose()
    const anonymous = new RawClient()
    anonymous.send(connectPacket({ clientId: '', clean: false }))
    assert.deepEqual([...(await anonymous.read(4))], [0x20, 2, 0, 2])
    await anonymous.expectClose()
    const refused = await pub('-V', 'mqttv31', '-t', 'x', '-m', 'x')
    assert.notEqual(refused.code, 0)
  })

  const malformed: [string, (client: RawClient) => Promise<void>][] = [
    [
      'a remaining length of 5 bytes',
      async (c) => c.send(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 1])),
    ],
    [
      'a packet bigger than the limit',
      async (c) => c.send(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])),
    ],
    ['PINGREQ before CONNECT', async (c) => c.send(packet(0xc0))],
    [
      'a protocol name that is not MQTT',
      async (c) => c.send(packet(0x10, str('HTTP'), Buffer.from([4, 2, 0, 60]), str('x'))),
    ],
    [
      'a second CONNECT',
      async (c) => {
        await c.handshake({ clientId: 'twice' })
        c.send(connectPacket({ clientId: 'twice' }))
      },
    ],
    [
      'PUBLISH to a wildcard topic',
      async (c) => {
        await c.handshake({ clientId: 'wild' })
        c.send(packet(0x30, str('a/+'), Buffer.from('x')))
      },
    ],
    [
      'SUBSCRIBE with reserved flags 0',
      async (c) => {
        await c.handshake({ clientId: 'flags' })
        c.send(packet(0x80, u16(1), str('a'), Buffer.from([0])))
      },
    ],
    [
      'a string that runs past the packet',
      async (c) => {
        await c.handshake({ clientId: 'short' })
        c.send(packet(0x30, u16(50), Buffer.from('abc')))
      },
    ],
  ]
  for (const [name, provoke] of malformed) {
    test(`malformed: ${name} closes the connection`, async () => {
      const client = new RawClient()
      await provoke(client)
      await client.expectClose()
    })
  }

  test('after all that, the broker still serves', async () => {
    const subscriber = await sub('-t', 'still/#', '-C', '1', '-W', '5')
    assert.equal((await pub('-t', 'still/here', '-q', '1', '-m', 'yes')).code, 0)
    assert.deepEqual((await subscriber.done).messages, ['yes'])
    // The slow-subscriber test above is the one warning expected.
    const unexpected = cli.output.replace(/^.*mqtt: "slow" is slow.*$/gm, '')
    assert.doesNotMatch(unexpected, /handler failed|replica exited|mqtt: /)
  })

  test('a retained message survives a restart of the CLI (same SQLite file)', async () => {
    // QoS 1: the PUBACK comes once the message is stored, so stopping right after is safe.
    assert.equal((await pub('-t', 'durable/boiler', '-q', '1', '-m', 'on', '-r')).code, 0)
    assert.equal((await pub('-t', 'durable/cleared', '-q', '1', '-m', 'x', '-r')).code, 0)
    assert.equal((await pub('-t', 'durable/cleared', '-q', '1', '-n', '-r')).code, 0)
    await cli.stop()
    await withStorage()
    const late = await sub('-t', 'durable/#', '-v', '-q', '1', '-C', '1', '-W', '5')
    const { messages, debug } = await late.done
    assert.deepEqual(messages, ['durable/boiler on'])
    assert.match(debug, /received PUBLISH \(d0, q1, r1, m\d+, 'durable\/boiler'/)
    assert.equal((await pub('-t', 'durable/boiler', '-n', '-r', '-q', '1')).code, 0)
  })
})

describe('examples/mqtt without a storage binding', { timeout: 20_000 }, () => {
  test('retained messages stay in memory, with one warning', async () => {
    await start()
    try {
      for (const payload of ['one', 'two']) {
        assert.equal((await pub('-t', 'memory/a', '-q', '1', '-m', payload, '-r')).code, 0)
      }
      const late = await sub('-t', 'memory/#', '-v', '-C', '1', '-W', '5')
      assert.deepEqual((await late.done).messages, ['memory/a two'])
      const warnings = cli.output.match(/no storage binding "RETAINED"/g) ?? []
      assert.equal(warnings.length, 1, cli.output)
      assert.doesNotMatch(cli.output, /handler failed|replica exited/)
    } finally {
      await cli.stop()
    }
  })
})
