/**
 * End to end: examples/inspector, a logging and filtering TCP proxy, run
 * with `sockworker dev` in front of a real redis-server and driven by the
 * real redis-cli, plus a raw TCP client that splits a blocked command
 * across two chunks. One proxy blocks a literal, the other a regex.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer, type Socket as NetSocket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type RedisServer, startRedis } from '../servers/redis.ts'
import { type Cli, readyPorts, startCli } from './cli.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** `redis-cli -p port ...args`: its exit code and output (errors go to stderr). */
function redisCli(port: number, ...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(port), ...args],
      { timeout: 10_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({ code, output: `${stdout}${stderr}`.trim() })
      },
    )
  })
}

/** Starts the inspector in front of 127.0.0.1:`upstreamPort` with `block`; resolves with the CLI and its port. */
async function startInspector(upstreamPort: number, block: string, extra: string[] = []) {
  const args = ['dev', 'examples/inspector/worker.ts', '--tcp', '0', ...extra]
  const vars = ['--var', `UPSTREAM=127.0.0.1:${upstreamPort}`, '--var', `BLOCK=${block}`]
  const cli = startCli([...args, ...vars], { cwd: root })
  const { tcp: port = 0 } = await readyPorts(cli, ['tcp'])
  return { cli, port }
}

/** A loopback port nothing listens on any more. */
async function freedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Resolves once the server closes `socket`; rejects after 5 s. */
function closedByServer(socket: NetSocket): Promise<string> {
  let received = ''
  socket.setEncoding('latin1')
  socket.on('data', (data: string) => {
    received += data
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('The proxy did not close the connection')),
      5000,
    )
    socket.once('error', () => {}) // a reset counts as closed too
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(received)
    })
  })
}

describe('examples/inspector with redis-cli and redis-server', { concurrency: false }, () => {
  let redis: RedisServer
  let literal: { cli: Cli; port: number }
  let regex: { cli: Cli; port: number }
  let closedPort: number

  before(async () => {
    redis = await startRedis()
    closedPort = await freedPort()
    ;[literal, regex] = await Promise.all([
      startInspector(redis.port, 'FLUSHALL'),
      startInspector(redis.port, '/flush(all|db)/i'),
    ])
  })
  after(async () => {
    await Promise.all([literal?.cli.stop(), regex?.cli.stop()])
    await redis?.stop()
  })

  test('commands pass through, and the log shows each exchange', async () => {
    assert.deepEqual(await redisCli(literal.port, 'SET', 'k', 'v'), { code: 0, output: 'OK' })
    assert.deepEqual(await redisCli(literal.port, 'GET', 'k'), { code: 0, output: 'v' })
    // Straight to redis-server: the proxied SET really happened.
    assert.deepEqual(await redisCli(redis.port, 'GET', 'k'), { code: 0, output: 'v' })
    await literal.cli.waitFor(/client -> upstream 27 bytes "\*3\\r\\n\$3\\r\\nSET\\r\\n/)
    await literal.cli.waitFor(/upstream -> client 5 bytes "\+OK\\r\\n"/)
    await literal.cli.waitFor(/upstream -> client 7 bytes "\$1\\r\\nv\\r\\n"/)
  })

  test('a blocked command closes the connection and never reaches redis', async () => {
    await redisCli(redis.port, 'SET', 'kept', 'yes')
    const blocked = await redisCli(literal.port, 'FLUSHALL')
    assert.notEqual(blocked.code, 0)
    assert.match(blocked.output, /Server closed the connection/)
    await literal.cli.waitFor(/BLOCKED "FLUSHALL": closing both sides/)
    assert.equal((await redisCli(redis.port, 'GET', 'kept')).output, 'yes')
    // The lower-case form is not the literal, so it passes.
    assert.deepEqual(await redisCli(literal.port, 'ECHO', 'flushall'), {
      code: 0,
      output: 'flushall',
    })
    // The worker keeps serving.
    assert.deepEqual(await redisCli(literal.port, 'PING'), { code: 0, output: 'PONG' })
  })

  test('a regex BLOCK matches either case and either command', async () => {
    for (const command of ['FLUSHALL', 'flushdb']) {
      const blocked = await redisCli(regex.port, command)
      assert.match(blocked.output, /Server closed the connection/)
    }
    await regex.cli.waitFor(/BLOCKED "flushdb"/)
    assert.equal((await redisCli(redis.port, 'GET', 'kept')).output, 'yes')
    assert.deepEqual(await redisCli(regex.port, 'GET', 'kept'), { code: 0, output: 'yes' })
  })

  test('a pattern split across two chunks is still found', async () => {
    const from = literal.cli.output.length
    const socket = connect({ host: '127.0.0.1', port: literal.port, noDelay: true })
    const closed = closedByServer(socket)
    socket.write('*1\r\n$8\r\nFLU')
    // The first half is logged (and forwarded) before the second is sent.
    await literal.cli.waitFor(/client -> upstream 11 bytes "\*1\\r\\n\$8\\r\\nFLU"/, 5000, from)
    socket.write('SHALL\r\n')
    assert.equal(await closed, '')
    await literal.cli.waitFor(/BLOCKED "FLUSHALL"/, 5000, from)
    assert.equal((await redisCli(redis.port, 'GET', 'kept')).output, 'yes')
  })

  test('when the upstream ends its side, the client gets the data, then the end', async () => {
    const socket = connect({ host: '127.0.0.1', port: literal.port })
    const closed = closedByServer(socket)
    // Redis answers QUIT with +OK and closes: the proxy passes on both.
    socket.write('PING\r\nQUIT\r\n')
    assert.equal(await closed, '+PONG\r\n+OK\r\n')
    assert.deepEqual(await redisCli(literal.port, 'PING'), { code: 0, output: 'PONG' })
  })

  test('when the client ends its side, its last bytes still reach the upstream first', async () => {
    const from = literal.cli.output.length
    const socket = connect({ host: '127.0.0.1', port: literal.port })
    const closed = closedByServer(socket)
    socket.end('SET half-closed yes\r\n')
    await closed
    await literal.cli.waitFor(/#(\d+) client -> upstream end/, 5000, from)
    assert.equal((await redisCli(redis.port, 'GET', 'half-closed')).output, 'yes')
  })

  test('allow_half_open: a reply that comes after the client ended reaches it only when set', async () => {
    // An upstream that answers only once the client has ended its side, as
    // request/response protocols that signal "done" with FIN do.
    const upstream = createServer({ allowHalfOpen: true }, (socket) => {
      let got = ''
      socket.setEncoding('latin1')
      socket.on('data', (data: string) => {
        got += data
      })
      socket.on('end', () => socket.end(`got:${got}`))
    }).listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    const { port: upstreamPort } = upstream.address() as { port: number }
    const ask = async (extra: string[]) => {
      const inspector = await startInspector(upstreamPort, 'FLUSHALL', extra)
      try {
        const socket = connect({ host: '127.0.0.1', port: inspector.port })
        const closed = closedByServer(socket)
        socket.end('hello')
        return await closed
      } finally {
        await inspector.cli.stop()
      }
    }
    try {
      assert.equal(await ask(['--allow-half-open']), 'got:hello')
      // workerd's default: the client's end closes our side too, so the late reply is lost.
      assert.equal(await ask([]), '')
    } finally {
      upstream.close()
    }
  })

  test('an upstream that cannot be reached closes the client, and the worker keeps serving', async () => {
    const unreachable = await startInspector(closedPort, 'FLUSHALL')
    try {
      const socket = connect({ host: '127.0.0.1', port: unreachable.port })
      assert.equal(await closedByServer(socket), '')
      await unreachable.cli.waitFor(/#1 cannot reach upstream 127\.0\.0\.1:\d+/)
      const again = await redisCli(unreachable.port, 'PING')
      assert.match(again.output, /Server closed the connection|Connection reset/)
      await unreachable.cli.waitFor(/#2 cannot reach upstream/)
    } finally {
      await unreachable.cli.stop()
    }
  })
})
