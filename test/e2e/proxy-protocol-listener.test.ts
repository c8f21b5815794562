/**
 * End to end: HAProxy, with `send-proxy-v2` and `send-proxy`, in front of
 * `sockworker serve` listeners that set `proxy_protocol`. The worker answers
 * with the client address it sees, which must be the real client's (a
 * source address other than HAProxy's own), not HAProxy's. A client that
 * sends no header is cut off with a log line, and the listener keeps serving.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { after, describe, test } from 'node:test'
import { waitForHaproxy } from '../helpers/haproxy.ts'
import { freePort } from '../helpers/ports.ts'
import { spawnPeer } from '../helpers/process.ts'
import { within } from '../helpers/timers.ts'
import { exchange, readyListeners, startCli, tempProject } from './cli.ts'

/** Not 127.0.0.1, HAProxy's own source, so a match cannot be an accident. */
const CLIENT = '127.0.0.2'

/** Says what `info` and `opened` report as the peer, then echoes. */
const WORKER = `
export default {
  async connect(socket) {
    const opened = await socket.opened
    const { remoteAddress, remotePort } = socket.info
    const writer = socket.writable.getWriter()
    const line = 'info=' + remoteAddress + ':' + remotePort +
      ' opened=' + opened.remoteAddress + ':' + opened.remotePort + '\\n'
    await writer.write(new TextEncoder().encode(line))
    writer.releaseLock()
    await socket.readable.pipeTo(socket.writable)
  },
}
`

const CONFIG = `
[log]
format = "json"

[[workers]]
name = "peer"
script = "worker.ts"

[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
proxy_protocol = "v2"

[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
proxy_protocol = "v1"
`

function haproxyConfig(front: { v2: number; v1: number }, back: { v2: number; v1: number }) {
  return `global
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe_v2
  bind 127.0.0.1:${front.v2}
  default_backend be_v2
backend be_v2
  server s1 127.0.0.1:${back.v2} send-proxy-v2
frontend fe_v1
  bind 127.0.0.1:${front.v1}
  default_backend be_v1
backend be_v1
  server s1 127.0.0.1:${back.v1} send-proxy
`
}

/** Connects from `CLIENT`, sends a line, and returns the client's port and everything that came back. */
async function through(port: number): Promise<{ localPort: number; reply: string }> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: CLIENT })
  try {
    await within(once(socket, 'connect'), 5000, `a connection to HAProxy on ${port}`)
    const localPort = socket.localPort ?? 0
    let reply = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      reply += chunk
      // End only once the echo is back: the worker closes both ways when we end.
      if (reply.endsWith('payload\n')) socket.end()
    })
    socket.write('payload\n')
    await within(once(socket, 'close'), 5000, `the worker's reply through HAProxy on ${port}`)
    return { localPort, reply }
  } finally {
    socket.destroy()
  }
}

// Everything starts in the async suite body, not in `before`: spawnPeer's
// `after()` inside a `before` hook would stop HAProxy when that hook ended.
// Fails rather than skips without haproxy: CI must install it.
assert.equal(spawnSync('haproxy', ['-v']).status, 0, 'haproxy is not installed: run npm run setup')
describe('PROXY protocol listeners behind HAProxy', async () => {
  const project = await tempProject({ 'sockworker.toml': CONFIG, 'worker.ts': WORKER })
  const cli = startCli(['serve', '--config', project.path('sockworker.toml')])
  after(async () => {
    await cli.stop()
    await project[Symbol.asyncDispose]()
  })
  const [v2, v1] = (await readyListeners(cli, 2)).map((l) => l.port)
  assert.ok(v2 !== undefined && v1 !== undefined)
  const front = { v2: await freePort(), v1: await freePort() }
  await project.write('haproxy.cfg', haproxyConfig(front, { v2, v1 }))
  const haproxy = await spawnPeer('haproxy', ['-db', '-f', project.path('haproxy.cfg')])
  await waitForHaproxy(haproxy, front.v2)
  await waitForHaproxy(haproxy, front.v1)

  const expectPeer = ({ localPort, reply }: { localPort: number; reply: string }) => {
    const seen = `${CLIENT}:${localPort}`
    assert.equal(reply, `info=${seen} opened=${seen}\npayload\n`, cli.output)
  }

  test('send-proxy-v2: the worker sees the real client address and port', async () => {
    const replies = await Promise.all(Array.from({ length: 4 }, () => through(front.v2)))
    for (const reply of replies) expectPeer(reply)
  })

  test('send-proxy (v1): the worker sees the real client address and port', async () => {
    expectPeer(await through(front.v1))
  })

  test('no header on a v2 listener: closed, logged, and the listener keeps serving', async () => {
    const from = cli.output.length
    const reply = await exchange(v2, 'hello, this is not a PROXY header\r\n').catch(
      (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? '' : Promise.reject(error)),
    )
    assert.equal(reply, '')
    const [line] = await cli.waitFor(/[^\n]*PROXY[^\n]*/, 5000, from)
    assert.match(line, /"level":"warn"/)
    assert.match(line, /"worker":"peer"|"listener":"tcp 127\.0\.0\.1:\d+"/)
    expectPeer(await through(front.v2))
  })

  test('a v2 header on a v1 listener is refused too', async () => {
    const from = cli.output.length
    // The v2 signature, then a LOCAL command with no addresses.
    const v2Local = Buffer.from('0d0a0d0a000d0a515549540a20000000', 'hex')
    const socket = connect({ host: '127.0.0.1', port: v1 })
    socket.on('error', () => {})
    socket.end(v2Local)
    await within(once(socket, 'close'), 5000, 'the v1 listener to close the connection')
    await cli.waitFor(/PROXY/, 5000, from)
    expectPeer(await through(front.v1))
  })
})
