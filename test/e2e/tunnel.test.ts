/**
 * End to end: `sockworker tunnel serve` as a user runs it, in front of
 * loopback TCP targets, with `connect(target, { via })` as the client.
 * - echo through the tunnel, with a token file;
 * - a wrong token is refused, and the target never sees a connection;
 * - backpressure: 64 MiB pushed at a target that does not read stalls the
 *   writer while the daemon's memory stays flat, then all of it arrives;
 * - a daemon that dies breaks open connections with an error, and a new
 *   connection works once it is back on the same port;
 * - wss:// with --cert/--key.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import { connect, type SocketError } from '@sockworker/sockets'
import { makeCerts } from '../helpers/certs.ts'
import { type Cli, readyPorts, startCli, tempProject } from './cli.ts'

const token = 'e2e-secret.42'
const text = (s: string) => new TextEncoder().encode(s)

interface Target {
  server: Server
  port: number
  label: string
  sockets: Socket[]
}

/** A loopback TCP server that keeps its sockets, and runs `onSocket` for each. */
async function startTarget(onSocket: (socket: Socket) => void): Promise<Target> {
  const sockets: Socket[] = []
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    onSocket(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return { server, port, label: `127.0.0.1:${port}`, sockets }
}

async function startTunnel(args: string[]): Promise<{ cli: Cli; port: number; url: string }> {
  const cli = startCli(['tunnel', 'serve', ...args])
  const { tunnel: port = 0 } = await readyPorts(cli, ['tunnel'])
  return { cli, port, url: `ws://127.0.0.1:${port}` }
}

/** Writes `message` and reads until as many bytes came back. */
async function roundTrip(label: string, url: string, message: string): Promise<string> {
  const socket = connect(label, { via: { url, token } })
  const writer = socket.writable.getWriter()
  await writer.write(text(message))
  const reader = socket.readable.getReader()
  let got = ''
  while (got.length < message.length) {
    const { value, done } = await reader.read()
    if (done) break
    got += new TextDecoder().decode(value)
  }
  await socket.close()
  return got
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1]) * 1024
}

describe('sockworker tunnel serve', () => {
  let project: Awaited<ReturnType<typeof tempProject>>
  let echo: Target

  before(async () => {
    project = await tempProject({ token: `${token}\n`, wrong: 'not-the-token\n' })
    echo = await startTarget((socket) => socket.pipe(socket))
  })
  after(async () => {
    echo.server.close()
    await project[Symbol.asyncDispose]()
  })

  test('echoes through the tunnel; a wrong token is refused before the target hears of it', async () => {
    const args = ['--listen', '127.0.0.1:0', '--to', echo.label]
    const { cli, url } = await startTunnel([...args, '--token-file', project.path('token')])
    await using _ = cli
    assert.equal(
      await roundTrip(echo.label, url, 'hello through the tunnel'),
      'hello through the tunnel',
    )
    const before = echo.sockets.length
    const socket = connect(echo.label, { via: { url, token: 'not-the-token' } })
    const error: SocketError = await socket.opened.then(
      () => assert.fail('opened'),
      (e) => e,
    )
    assert.equal(error.code, 'ERR_TUNNEL_AUTH')
    assert.match(error.message, /refused the token/)
    await cli.waitFor(/refused 127\.0\.0\.1:\d+: wrong token/)
    assert.equal(echo.sockets.length, before, 'the target saw no connection')
    assert.doesNotMatch(cli.output, /warning: no --token-file/)
  })

  test('backpressure: 64 MiB at a target that does not read stalls the writer, not the daemon', async () => {
    const total = 64 << 20
    let arrived = 0
    const sink = await startTarget((socket) => {
      socket.pause()
      socket.on('data', (chunk: Buffer) => (arrived += chunk.byteLength))
      socket.on('end', () => socket.end())
    })
    const { cli, url } = await startTunnel(['--listen', '0', '--to', sink.label])
    await using _ = cli
    const pid = cli.child.pid ?? 0
    const rssBefore = rssBytes(pid)

    const socket = connect(sink.label, { via: { url } })
    const writer = socket.writable.getWriter()
    const chunk = new Uint8Array(1 << 20)
    let written = 0
    const writing = (async () => {
      for (let i = 0; i < 64; i++) {
        await writer.write(chunk)
        written += chunk.byteLength
      }
      await writer.close()
    })()
    // Stalled: no progress for 20 looks in a row, 10 ms apart.
    let peakRss = rssBefore
    for (let still = 0, last = -1; still < 20; ) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      peakRss = Math.max(peakRss, rssBytes(pid))
      still = written === last ? still + 1 : 0
      last = written
    }
    assert.ok(written < 48 << 20, `the writer was let through ${written >> 20} MiB`)
    const grown = (peakRss - rssBefore) >> 20
    assert.ok(grown < 32, `the daemon grew by ${grown} MiB`)

    for (const s of sink.sockets) s.resume()
    await writing
    await socket.closed
    await waitUntil(() => arrived === total, 15_000)
    sink.server.close()
  })

  test('a daemon that dies breaks connections with an error; one back on the port works', async () => {
    const args = [
      '--listen',
      '127.0.0.1:0',
      '--to',
      echo.label,
      '--token-file',
      project.path('token'),
    ]
    const first = await startTunnel(args)
    const socket = connect(echo.label, { via: { url: first.url, token } })
    await socket.opened
    const reader = socket.readable.getReader()
    const pending = reader.read().then(
      () => assert.fail('read'),
      (e: SocketError) => e,
    )
    first.cli.child.kill('SIGKILL')
    await first.cli.exited
    const readError = await pending
    assert.equal(readError.code, 'ECONNRESET')
    const closedError: SocketError = await socket.closed.then(
      () => assert.fail('closed'),
      (e) => e,
    )
    assert.match(closedError.message, /connection to the tunnel was lost/)

    args[1] = `127.0.0.1:${first.port}`
    const second = await startTunnel(args)
    await using _ = second.cli
    assert.equal(await roundTrip(echo.label, second.url, 'back again'), 'back again')
  })

  test('wss:// with --cert and --key', async () => {
    const certs = await makeCerts()
    const { cli, port } = await startTunnel([
      ...['--listen', '127.0.0.1:0', '--to', echo.label, '--token-file', project.path('token')],
      ...['--cert', certs.files.serverCert, '--key', certs.files.serverKey],
    ])
    await using _ = cli
    // This process trusts the test CA from here on; undici's WebSocket uses the default store.
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), certs.ca])
    assert.equal(await roundTrip(echo.label, `wss://localhost:${port}`, 'secure'), 'secure')
  })

  test('without --token-file it warns', async () => {
    const { cli } = await startTunnel(['--listen', '0', '--to', echo.label])
    await using _ = cli
    assert.match(
      cli.output,
      /warning: no --token-file: anyone who can reach 127\.0\.0\.1:\d+ can reach/,
    )
  })
})

async function waitUntil(condition: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${condition}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
