/**
 * The tunnel channel against a scripted WebSocket: what it sends, when it
 * lets a writer go on, what it hands to its handler, and how a close maps to
 * an error. The real WebSocket and daemon are covered in test/e2e/tunnel*.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { SocketError } from '../errors.ts'
import type { ByteChannelHandler } from '../platform.ts'
import { TunnelChannel, type TunnelSocket } from './channel.ts'
import { tunnelWire } from './wire.ts'

class FakeWebSocket implements TunnelSocket {
  readyState = 0
  #buffered = 0
  #onRead: (() => void) | undefined
  get bufferedAmount(): number {
    this.#onRead?.()
    return this.#buffered
  }
  set bufferedAmount(value: number) {
    this.#buffered = value
  }
  /** Resolves once the channel has looked at `bufferedAmount` `times` more times. */
  polled(times: number): Promise<void> {
    const seen = Promise.withResolvers<void>()
    let left = times
    this.#onRead = () => {
      if (--left > 0) return
      this.#onRead = undefined
      seen.resolve()
    }
    return seen.promise
  }
  protocol = ''
  binaryType = 'blob'
  sent: (string | Uint8Array)[] = []
  closedWith: [number | undefined, string | undefined] | undefined
  onopen: TunnelSocket['onopen'] = null
  onmessage: TunnelSocket['onmessage'] = null
  onclose: TunnelSocket['onclose'] = null
  onerror: TunnelSocket['onerror'] = null

  send(data: string | Uint8Array): void {
    if (this.readyState !== 1) throw new Error('send() while not open')
    this.sent.push(typeof data === 'string' ? data : data.slice())
    if (typeof data !== 'string') this.#buffered += data.byteLength
  }
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason]
    this.readyState = 2
  }
  /** The daemon accepted the upgrade (with `protocol`). */
  open(protocol: string = tunnelWire.protocol): void {
    this.readyState = 1
    this.protocol = protocol
    this.onopen?.({})
  }
  receive(data: string | Uint8Array): void {
    const message = typeof data === 'string' ? data : data.slice().buffer
    this.onmessage?.({ data: message })
  }
  closeFromPeer(code: number, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }
  bytesSent(): number {
    return this.sent.reduce((n, m) => n + (typeof m === 'string' ? 0 : m.byteLength), 0)
  }
}

/** A handler that records what it was told. */
function recorder() {
  const events: string[] = []
  const idle = Promise.withResolvers<void>()
  const closed = Promise.withResolvers<SocketError | undefined>()
  const handler: ByteChannelHandler = {
    open: () => events.push('open'),
    data: (chunk) => events.push(`data ${new TextDecoder().decode(chunk)}`),
    end: () => events.push('end'),
    idle: () => {
      events.push('idle')
      idle.resolve()
    },
    close: (error) => {
      events.push(`close ${error?.code ?? 'clean'}`)
      closed.resolve(error)
    },
  }
  return { events, handler, closed: closed.promise, idle: idle.promise }
}

function setup() {
  const ws = new FakeWebSocket()
  const channel = new TunnelChannel(
    ws,
    { target: 'db:5432', via: { url: 'ws://tunnel.test:8000' } },
    { hostname: 'db', port: 5432 },
  )
  const record = recorder()
  channel.handler = record.handler
  return { ws, channel, ...record }
}

const text = (s: string) => new TextEncoder().encode(s)
const writeDone = () => Promise.withResolvers<SocketError | undefined>()

describe('TunnelChannel', () => {
  test('holds writes until the WebSocket opens, opens when the daemon says so', async () => {
    const { ws, channel, events } = setup()
    assert.equal(ws.binaryType, 'arraybuffer')
    const done = writeDone()
    assert.equal(
      channel.write(text('early'), (e) => done.resolve(e)),
      false,
    )
    ws.open()
    assert.deepEqual(ws.sent.map(String), [String(text('early'))])
    assert.equal(await done.promise, undefined)
    assert.deepEqual(events, [])
    ws.receive(tunnelWire.open)
    assert.deepEqual(events, ['open'])
    assert.deepEqual(channel.info(), {
      remoteAddress: 'db',
      remotePort: 5432,
      localAddress: undefined,
      localPort: undefined,
      tls: undefined,
    })
  })

  test('write() lets go at once under the high-water mark, else after the buffer drains', async () => {
    const { ws, channel } = setup()
    ws.open()
    assert.equal(
      channel.write(text('small'), () => assert.fail('done must not run')),
      true,
    )
    ws.bufferedAmount = tunnelWire.maxMessage
    const done = writeDone()
    let settled = false
    assert.equal(
      channel.write(text('more'), (e) => {
        settled = true
        done.resolve(e)
      }),
      false,
    )
    await ws.polled(3)
    assert.equal(settled, false, 'still above the low-water mark')
    ws.bufferedAmount = 0
    assert.equal(await done.promise, undefined)
  })

  test('a large chunk goes out in slices, only as the buffer drains', async () => {
    const { ws, channel } = setup()
    ws.open()
    const big = new Uint8Array(3 * tunnelWire.maxMessage + 5)
    const done = writeDone()
    assert.equal(
      channel.write(big, (e) => done.resolve(e)),
      false,
    )
    assert.equal(ws.bytesSent(), tunnelWire.maxMessage, 'one slice, then the buffer is full')
    while (ws.bytesSent() < big.byteLength) {
      ws.bufferedAmount = 0
      await ws.polled(1)
    }
    ws.bufferedAmount = 0
    assert.equal(await done.promise, undefined)
    assert.equal(ws.bytesSent(), big.byteLength)
    assert.ok(ws.sent.every((m) => typeof m !== 'string' && m.byteLength <= tunnelWire.maxMessage))
  })

  test('while paused, received bytes wait; resume hands them over and acknowledges them', () => {
    const { ws, channel, events } = setup()
    ws.open()
    ws.receive(tunnelWire.open)
    ws.receive(text('a'))
    ws.receive(tunnelWire.end)
    assert.deepEqual(events, ['open'], 'channels start paused')
    channel.resume()
    assert.deepEqual(events, ['open', 'data a', 'end'])
    const chunk = new Uint8Array(tunnelWire.ackEvery)
    ws.receive(chunk)
    assert.ok(ws.sent.includes(`${tunnelWire.ack}${tunnelWire.ackEvery + 1}`))
  })

  test('the end marker reaches a paused reader once the bytes before it are out', () => {
    const { ws, channel, events } = setup()
    ws.open()
    ws.receive(tunnelWire.open)
    channel.resume()
    channel.pause()
    ws.receive(text('x'))
    ws.receive(tunnelWire.end)
    assert.deepEqual(events, ['open'])
    channel.resume()
    assert.deepEqual(events, ['open', 'data x', 'end'])
  })

  test('a clean close waits for the reader to take what arrived before it', async () => {
    const { ws, channel, events, closed } = setup()
    ws.open()
    ws.receive(tunnelWire.open)
    ws.receive(text('last'))
    ws.closeFromPeer(1000)
    assert.deepEqual(events, ['open'])
    channel.resume()
    assert.equal(await closed, undefined)
    assert.deepEqual(events, ['open', 'data last', 'end', 'close clean'])
  })

  test('end() sends the end marker after the bytes written before it', async () => {
    const { ws, channel } = setup()
    const ended = writeDone()
    channel.write(text('q'), () => {})
    channel.end((e) => ended.resolve(e))
    ws.open()
    assert.equal(await ended.promise, undefined)
    assert.deepEqual(
      ws.sent.map((m) => (typeof m === 'string' ? m : 'bytes')),
      ['bytes', 'end'],
    )
  })

  test("the daemon's failure reason becomes the SocketError", async () => {
    const { ws, closed } = setup()
    ws.open()
    ws.closeFromPeer(1011, 'ECONNREFUSED: Cannot connect to db:5432: connection refused')
    const error = await closed
    assert.equal(error?.code, 'ECONNREFUSED')
    assert.match(
      error?.message ?? '',
      /connection refused \(through the tunnel ws:\/\/tunnel.test:8000\)/,
    )
  })

  test('a daemon that shuts down or vanishes is a reset', async () => {
    for (const code of [1001, 1006]) {
      const { ws, closed } = setup()
      ws.open()
      ws.receive(tunnelWire.open)
      ws.closeFromPeer(code)
      assert.equal((await closed)?.code, 'ECONNRESET', `close ${code}`)
    }
  })

  test('a failed write after close carries the error', async () => {
    const { ws, channel, closed } = setup()
    ws.open()
    ws.closeFromPeer(1001)
    await closed
    const done = writeDone()
    assert.equal(
      channel.write(text('late'), (e) => done.resolve(e)),
      false,
    )
    assert.equal((await done.promise)?.code, 'ERR_SOCKET_CLOSED')
  })

  test('destroy(error) closes with 4000 and the reason; destroy() closes with 1000', async () => {
    const failing = setup()
    failing.ws.open()
    const { SocketError } = await import('../errors.ts')
    failing.channel.destroy(new SocketError('ETIMEDOUT', 'Cannot connect: no answer'))
    assert.deepEqual(failing.ws.closedWith, [4000, 'ETIMEDOUT: Cannot connect: no answer'])
    failing.ws.closeFromPeer(4000)
    assert.equal((await failing.closed)?.code, 'ETIMEDOUT')

    const clean = setup()
    clean.ws.open()
    clean.channel.destroy()
    assert.deepEqual(clean.ws.closedWith, [1000, undefined])
    clean.ws.closeFromPeer(1000)
    assert.equal(await clean.closed, undefined)
  })

  test('destroy() during a clean close stops waiting for the paused reader', async () => {
    const { ws, channel, closed } = setup()
    ws.open()
    ws.receive(tunnelWire.open)
    ws.receive(text('unread'))
    ws.closeFromPeer(1000)
    const { SocketError } = await import('../errors.ts')
    channel.destroy(new SocketError('ETIMEDOUT', 'idle'))
    assert.equal((await closed)?.code, 'ETIMEDOUT')
  })

  test('a server without our subprotocol is refused', async () => {
    const { ws, closed } = setup()
    ws.open('')
    assert.equal(ws.closedWith?.[0], 4000)
    ws.closeFromPeer(1000)
    const error = await closed
    assert.equal(error?.code, 'ERR_SOCKET')
    assert.match(error?.message ?? '', /sockworker-tunnel\.v1/)
  })

  test('idleTimeout reports idle after a quiet spell', async () => {
    const { ws, channel, idle } = setup()
    ws.open()
    const started = performance.now()
    channel.tune({ idleTimeout: 20 })
    await idle
    assert.ok(performance.now() - started >= 19)
    channel.tune({ idleTimeout: 0 })
  })

  test('startTls() is refused with a TypeError', () => {
    const { channel } = setup()
    assert.throws(
      () => channel.startTls(),
      (error: Error) => error instanceof TypeError && /wss:\/\//.test(error.message),
    )
  })
})
