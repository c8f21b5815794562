/**
 * The tunnel daemon in process, in front of a loopback TCP target, with our
 * socket API and the `ws` client as clients: auth before any target
 * connection, half-close, failures relayed as codes, the credit window, the
 * raw mode, and shutdown. The CLI and big transfers are in test/e2e/tunnel*.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { connect, type SocketError } from '@sockworker/sockets'
import { WebSocket } from 'ws'
import { startTunnelServer, type TunnelServer } from './server.ts'

const token = 'test-token.1'
const text = (s: string) => new TextEncoder().encode(s)

/** A target that runs `onSocket` per connection and counts them. */
async function target(onSocket: (socket: Socket) => void) {
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {})
    onSocket(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  return { server, port, label: `127.0.0.1:${port}` }
}

async function readAll(readable: ReadableStream<Uint8Array>): Promise<string> {
  let out = ''
  const decoder = new TextDecoder()
  for await (const chunk of readable) out += decoder.decode(chunk, { stream: true })
  return out
}

describe('tunnel daemon', () => {
  let connections = 0
  const lines: string[] = []
  let echo: Awaited<ReturnType<typeof target>>
  let daemon: TunnelServer
  let url = ''

  before(async () => {
    echo = await target((socket) => {
      connections++
      socket.pipe(socket)
    })
    daemon = await startTunnelServer({
      listen: { hostname: '127.0.0.1', port: 0 },
      target: { hostname: '127.0.0.1', port: echo.port, label: echo.label },
      token,
      log: (line) => lines.push(line),
    })
    url = `ws://127.0.0.1:${daemon.port}`
  })
  after(async () => {
    await daemon.close()
    echo.server.close()
  })

  test('relays bytes both ways and logs the connection with its byte counts', async () => {
    const socket = connect(echo.label, { via: { url, token } })
    const writer = socket.writable.getWriter()
    await writer.write(text('ping'))
    await writer.close()
    assert.equal(await readAll(socket.readable), 'ping')
    await socket.closed
    await waitFor(() => lines.some((l) => /^close \d+ .*4 bytes in, 4 bytes out/.test(l)))
    assert.ok(lines.some((l) => l.startsWith('open ') && l.endsWith(`-> ${echo.label}`)))
  })

  test('a missing or wrong token is refused with 401 before the target hears of it', async () => {
    const before = connections
    for (const via of [{ url }, { url, token: 'wrong' }]) {
      const socket = connect(echo.label, { via })
      const error: SocketError = await socket.opened.then(
        () => assert.fail('opened'),
        (e) => e,
      )
      assert.equal(error.code, 'ERR_TUNNEL_AUTH')
      await socket.closed.catch(() => {})
    }
    const status = await upgradeStatus(url, { authorization: 'Bearer wrong' })
    assert.equal(status, 401)
    assert.equal(connections, before)
    assert.ok(lines.some((l) => /^refused .*: no token$/.test(l)))
    assert.ok(lines.some((l) => /^refused .*: wrong token$/.test(l)))
  })

  test('a bearer header works too, for clients that can set one', async () => {
    const ws = new WebSocket(url, ['sockworker-tunnel.v1'], {
      headers: { authorization: `Bearer ${token}` },
    })
    const [first] = await once(ws, 'message')
    assert.equal(String(first), 'open')
    ws.close()
    await once(ws, 'close')
  })

  test('half-close: the target still answers after the client ended', async () => {
    const late = await target((socket) => {
      socket.resume()
      socket.on('end', () => socket.end('bye'))
    })
    await using tunnel = await daemonFor(late)
    const socket = connect(late.label, { via: { url: tunnel.url }, allowHalfOpen: true })
    await socket.writable.close()
    assert.equal(await readAll(socket.readable), 'bye')
    await socket.closed
    late.server.close()
  })

  test("the target's refusal comes back as ECONNREFUSED", async () => {
    const gone = await target(() => {})
    gone.server.close()
    await using tunnel = await daemonFor(gone)
    const socket = connect(gone.label, { via: { url: tunnel.url } })
    const error: SocketError = await socket.opened.then(
      () => assert.fail('opened'),
      (e) => e,
    )
    assert.equal(error.code, 'ECONNREFUSED')
    assert.match(error.message, /through the tunnel ws:\/\/127\.0\.0\.1/)
  })

  test('no more than the credit window goes to a client that does not acknowledge', async () => {
    const total = 4 << 20
    const big = await target((socket) => socket.end(Buffer.alloc(total, 7)))
    await using tunnel = await daemonFor(big)
    const ws = new WebSocket(tunnel.url, ['sockworker-tunnel.v1'])
    let received = 0
    let most = 0
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (!binary) return
      received += data.byteLength
      most = Math.max(most, received)
    })
    await waitFor(() => received >= 1 << 20)
    // Round trips through the daemon: whatever it sent before answering has arrived.
    for (let i = 0; i < 3; i++) {
      ws.ping()
      await once(ws, 'pong')
    }
    assert.ok(most <= (1 << 20) + (64 << 10), `${most} bytes arrived unacknowledged`)
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (binary) ws.send(`ack ${data.byteLength}`)
    })
    ws.send(`ack ${received}`)
    await waitFor(() => received === total)
    ws.close()
    await once(ws, 'close')
    big.server.close()
  })

  test('raw mode: a plain WebSocket client relays binary messages, and end closes 1000', async () => {
    const once1 = await target((socket) => socket.once('data', (d) => socket.end(d)))
    await using tunnel = await daemonFor(once1)
    const ws = new WebSocket(tunnel.url)
    await once(ws, 'open')
    ws.send(Buffer.from('raw'))
    const [data] = await once(ws, 'message')
    assert.equal(String(data), 'raw')
    const [code] = await once(ws, 'close')
    assert.equal(code, 1000)
    once1.server.close()
  })

  test('stopping the daemon resets open connections', async () => {
    await using tunnel = await daemonFor(echo)
    const socket = connect(echo.label, { via: { url: tunnel.url } })
    await socket.opened
    await tunnel.daemon.close()
    const error: SocketError = await socket.closed.then(
      () => assert.fail('closed'),
      (e) => e,
    )
    assert.equal(error.code, 'ECONNRESET')
    assert.match(error.message, /the tunnel shut down/)
  })
})

/** A tokenless daemon for `to`, closed by `await using`. */
async function daemonFor(to: { port: number; label: string }) {
  const daemon = await startTunnelServer({
    listen: { hostname: '127.0.0.1', port: 0 },
    target: { hostname: '127.0.0.1', port: to.port, label: to.label },
    log: () => {},
  })
  return {
    daemon,
    url: `ws://127.0.0.1:${daemon.port}`,
    [Symbol.asyncDispose]: () => daemon.close(),
  }
}

/** The HTTP status a WebSocket upgrade gets. */
async function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(url, ['sockworker-tunnel.v1'], { headers })
  ws.on('error', () => {})
  const [, response] = await once(ws, 'unexpected-response')
  response.resume()
  ws.terminate()
  return response.statusCode
}

/** Polls `condition` every few milliseconds, for at most 5 s. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${condition}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
