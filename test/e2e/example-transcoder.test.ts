/**
 * End to end: examples/transcoder, a WebSocket server over a raw TCP socket
 * that bridges to a TCP service, run with `sockworker dev` and driven by
 * the `ws` npm client and Node's global WebSocket, to a node:net echo
 * server and to a real redis-server. Raw TCP clients send what no real
 * client would: plain HTTP, unmasked frames, oversized lengths.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer, type Server } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import WebSocket from 'ws'
import { type RedisServer, startRedis } from '../servers/redis.ts'
import { type Cli, readyPorts, startCli } from './cli.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)

/** Starts the transcoder bridging to `target`; resolves with the CLI and its port. */
async function startTranscoder(target: string) {
  const args = ['dev', 'examples/transcoder/worker.ts', '--tcp', '0', '--var', `TARGET=${target}`]
  const cli = startCli(args, { cwd: root })
  const { tcp: port = 0 } = await readyPorts(cli, ['tcp'])
  return { cli, port }
}

/** A `ws` client, open. */
async function openWs(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
  await once(ws, 'open')
  return ws
}

/** Collects binary messages on `ws` until they add up to `length` bytes. */
function receiveBytes(ws: WebSocket, length: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let total = 0
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Got ${total} of ${length} bytes`)), 5000)
    const onMessage = (data: Buffer, isBinary: boolean) => {
      assert.equal(isBinary, true, 'TCP bytes come back as binary messages')
      parts.push(data)
      total += data.length
      if (total < length) return
      clearTimeout(timer)
      ws.off('message', onMessage)
      resolve(Buffer.concat(parts))
    }
    ws.on('message', onMessage)
  })
}

/**
 * A raw TCP client: sends `request`, and after a 101 sends `frames`; resolves
 * with the response head and the bytes after it once the server closes. It
 * ends its side when a close frame arrives, as a WebSocket client does.
 */
function rawSession(
  port: number,
  request: string,
  frames: Buffer = Buffer.alloc(0),
): Promise<{ head: string; body: Buffer }> {
  const socket = connect({ host: '127.0.0.1', port })
  let received = Buffer.alloc(0)
  let sentFrames = false
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`The server did not close; got ${JSON.stringify(received.toString())}`))
    }, 5000)
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data])
      const end = received.indexOf('\r\n\r\n')
      if (end !== -1 && !sentFrames && received.subarray(0, 12).toString() === 'HTTP/1.1 101') {
        sentFrames = true
        socket.write(frames)
      }
      if (end !== -1 && received[end + 4] === 0x88) socket.end()
    })
    socket.once('error', reject)
    socket.once('close', () => {
      clearTimeout(timer)
      const end = received.indexOf('\r\n\r\n')
      resolve({ head: received.subarray(0, end).toString(), body: received.subarray(end + 4) })
    })
    socket.write(request)
  })
}

const upgrade = (extra = 'Sec-WebSocket-Version: 13\r\n') =>
  'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`

/** The close code of the close frame at the start of `body`. */
function closeCode(body: Buffer): number {
  assert.equal(body[0], 0x88, `expected a close frame, got ${body.toString('hex')}`)
  return body.readUInt16BE(2)
}

/** A masked client frame (mask 0x01020304) with the given first byte and payload. */
function maskedFrame(first: number, payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4])
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)))
  return Buffer.concat([Buffer.from([first, 0x80 | payload.length]), mask, masked])
}

describe('examples/transcoder with WebSocket clients', { concurrency: false }, () => {
  let echo: Server
  let redis: RedisServer
  let toEcho: { cli: Cli; port: number }
  let toRedis: { cli: Cli; port: number }
  let toNowhere: { cli: Cli; port: number }

  before(async () => {
    echo = createServer((socket) => socket.pipe(socket))
    echo.listen(0, '127.0.0.1')
    await once(echo, 'listening')
    const echoPort = (echo.address() as { port: number }).port
    redis = await startRedis()
    // A port nothing listens on any more, for the 502 case.
    const closed = createServer().listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const closedPort = (closed.address() as { port: number }).port
    await new Promise((resolve) => closed.close(resolve))
    // allSettled, not all: when one start fails, the others must still be
    // known to after(), or their processes outlive the test file and hang it.
    const started = await Promise.allSettled([
      startTranscoder(`127.0.0.1:${echoPort}`),
      startTranscoder(`127.0.0.1:${redis.port}`),
      startTranscoder(`127.0.0.1:${closedPort}`),
    ])
    const [echoCli, redisCli, nowhereCli] = started.map((result) =>
      result.status === 'fulfilled' ? result.value : undefined,
    )
    ;[toEcho, toRedis, toNowhere] = [echoCli!, redisCli!, nowhereCli!]
    const failed = started.find((result) => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  })
  after(async () => {
    await Promise.all([toEcho?.cli.stop(), toRedis?.cli.stop(), toNowhere?.cli.stop()])
    await redis?.stop()
    echo?.close()
  })

  test('ws: binary, text, fragmented and large messages round-trip to an echo service', async () => {
    const ws = await openWs(toEcho.port)
    ws.send(Buffer.from([0, 1, 2, 255]))
    assert.deepEqual(await receiveBytes(ws, 4), Buffer.from([0, 1, 2, 255]))
    ws.send('héllo text')
    assert.equal((await receiveBytes(ws, 11)).toString(), 'héllo text')
    ws.send('first,', { fin: false })
    ws.send('second', { fin: true })
    assert.equal((await receiveBytes(ws, 12)).toString(), 'first,second')
    const large = Buffer.alloc(300_000, 'x')
    ws.send(large)
    assert.deepEqual(await receiveBytes(ws, large.length), large)
    ws.ping('are you there')
    const [pong] = (await once(ws, 'pong')) as [Buffer]
    assert.equal(pong.toString(), 'are you there')
    ws.close(1000, 'bye')
    const [code] = (await once(ws, 'close')) as [number]
    assert.equal(code, 1000)
  })

  test("Node's global WebSocket speaks RESP to redis-server through it", async () => {
    const ws = new globalThis.WebSocket(`ws://127.0.0.1:${toRedis.port}`)
    ws.binaryType = 'arraybuffer'
    const replies: string[] = []
    const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', resolve))
    ws.addEventListener('message', (event) => {
      replies.push(new TextDecoder().decode(event.data as ArrayBuffer))
    })
    await new Promise((resolve) => ws.addEventListener('open', resolve))
    const resp = (...args: string[]) =>
      `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`
    ws.send(new TextEncoder().encode(resp('SET', 'greeting', 'hello')))
    ws.send(new TextEncoder().encode(resp('GET', 'greeting')))
    // QUIT: redis answers +OK and closes, and the transcoder closes the WebSocket with 1000.
    ws.send(new TextEncoder().encode(resp('QUIT')))
    const event = await closed
    assert.equal(replies.join(''), '+OK\r\n$5\r\nhello\r\n+OK\r\n')
    assert.equal(event.code, 1000)
  })

  test('a plain HTTP GET gets 400 and the connection closes (curl)', async () => {
    const url = `http://127.0.0.1:${toEcho.port}/`
    const { stdout } = await run('curl', ['-si', '--max-time', '5', url], { timeout: 10_000 })
    assert.match(stdout, /^HTTP\/1.1 400 Bad Request\r\n/)
    assert.match(stdout, /Connection: close/)
    assert.match(stdout, /send an Upgrade: websocket request/)
  })

  test('other bad handshakes: wrong version 426, bad key 400, unreachable target 502', async () => {
    const version = await rawSession(toEcho.port, upgrade('Sec-WebSocket-Version: 8\r\n'))
    assert.match(version.head, /^HTTP\/1.1 426 Upgrade Required/)
    assert.match(version.head, /Sec-WebSocket-Version: 13/)
    const badKey = await rawSession(toEcho.port, upgrade().replace('dGhlIHNhbXBsZSBub25jZQ==', 'x'))
    assert.match(badKey.head, /^HTTP\/1.1 400 /)
    const nowhere = await rawSession(toNowhere.port, upgrade())
    assert.match(nowhere.head, /^HTTP\/1.1 502 Bad Gateway/)
  })

  test('the handshake answer has the RFC 6455 accept key', async () => {
    const { head, body } = await rawSession(
      toEcho.port,
      upgrade(),
      maskedFrame(0x88, Buffer.from([0x03, 0xe8])), // close 1000
    )
    assert.match(head, /^HTTP\/1.1 101 Switching Protocols/)
    assert.match(head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/)
    assert.equal(closeCode(body), 1000)
  })

  test('an unmasked frame closes with 1002', async () => {
    const unmasked = Buffer.from([0x82, 0x02, 0x68, 0x69])
    assert.equal(closeCode((await rawSession(toEcho.port, upgrade(), unmasked)).body), 1002)
  })

  test('an oversized frame length closes with 1009', async () => {
    const header = Buffer.from([0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4])
    assert.equal(closeCode((await rawSession(toEcho.port, upgrade(), header)).body), 1009)
  })

  test('reserved bits, an unknown opcode and bad UTF-8 close with 1002 and 1007', async () => {
    const cases: Array<[Buffer, number]> = [
      [maskedFrame(0xc2, Buffer.from('x')), 1002], // RSV1 without an extension
      [maskedFrame(0x83, Buffer.from('x')), 1002], // opcode 3 is reserved
      [maskedFrame(0x00, Buffer.from('x')), 1002], // a continuation with nothing to continue
      [maskedFrame(0x81, Buffer.from([0xc3, 0x28])), 1007], // text that is not UTF-8
    ]
    for (const [frame, code] of cases) {
      assert.equal(closeCode((await rawSession(toEcho.port, upgrade(), frame)).body), code)
    }
  })

  test('after all that, the worker still serves', async () => {
    const ws = await openWs(toEcho.port)
    ws.send(Buffer.from('still here'))
    assert.equal((await receiveBytes(ws, 10)).toString(), 'still here')
    ws.close()
    await once(ws, 'close')
    await toEcho.cli.waitFor(/transcoder #\d+ close 1002 \(Client frames must be masked\)/)
  })
})
