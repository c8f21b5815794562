/**
 * End to end: examples/kv, a Redis-protocol server on the storage binding,
 * run with `sockworker dev --storage STORE=<file>` and driven by the real
 * redis-cli and redis-benchmark (Debian's redis-tools), plus a raw TCP
 * client for pipelining and malformed input. The benchmark runs against a
 * real redis-server too, and the test prints both rates and their ratio.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startRedis } from '../servers/redis.ts'
import { type Cli, readyPorts, startCli, tempProject } from './cli.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)

/** `redis-cli -p port ...args`, its output trimmed (redis-cli prints errors to stdout too). */
async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  })
  return stdout.trim()
}

/** `redis-cli --pipe` fed `input` on stdin; resolves with its stdout. */
function redisPipe(port: number, input: string): Promise<string> {
  const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--pipe'], {
    timeout: 10_000,
  })
  let stdout = ''
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString()
  })
  child.stdin.end(input)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', () => resolve(stdout))
  })
}

/**
 * A raw client: writes each chunk in its own TCP segment (Nagle off, one
 * write callback at a time), never half-closes, and resolves with all it
 * received when the server closes, or when `until` holds (then it closes).
 */
function rawSession(
  port: number,
  chunks: string[],
  until?: (received: string) => boolean,
): Promise<{ received: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true })
    let received = ''
    let closedByServer = true
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`Timed out; received ${JSON.stringify(received)}`))
    }, 5000)
    socket.setEncoding('latin1')
    socket.on('data', (data: string) => {
      received += data
      if (until?.(received)) {
        closedByServer = false
        socket.destroy()
      }
    })
    socket.once('error', reject)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({ received, closedByServer })
    })
    socket.once('connect', async () => {
      for (const chunk of chunks) {
        await new Promise<void>((done) => socket.write(chunk, () => done()))
      }
    })
  })
}

/** "SET: 12345.67 requests per second" lines from `redis-benchmark -q`. */
async function benchmark(port: number): Promise<Record<string, number>> {
  const { stdout } = await run(
    'redis-benchmark',
    ['-h', '127.0.0.1', '-p', String(port), '-t', 'set,get', '-n', '20000', '-q'],
    { timeout: 60_000 },
  )
  const rates: Record<string, number> = {}
  for (const [, name = '', rate] of stdout.matchAll(/(SET|GET): ([\d.]+) requests per second/g)) {
    rates[name] = Number(rate)
  }
  return rates
}

describe('examples/kv with redis-cli', { concurrency: false }, () => {
  let project: Awaited<ReturnType<typeof tempProject>>
  let cli: Cli
  let port: number
  const start = async () => {
    const args = ['dev', 'examples/kv/worker.ts', '--tcp', '0']
    cli = startCli([...args, '--storage', `STORE=${project.path('kv.sqlite')}`], { cwd: root })
    ;({ tcp: port = 0 } = await readyPorts(cli, ['tcp']))
  }
  const redis = (...args: string[]) => redisCli(port, ...args)

  before(async () => {
    project = await tempProject({})
    await start()
  })
  after(async () => {
    await cli?.stop()
    await project?.[Symbol.asyncDispose]()
  })

  test('PING, SET, GET, DEL, EXISTS, SELECT, QUIT', async () => {
    assert.equal(await redis('PING'), 'PONG')
    assert.equal(await redis('PING', 'hi there'), 'hi there')
    assert.equal(await redis('SET', 'greeting', 'hello world'), 'OK')
    assert.equal(await redis('GET', 'greeting'), 'hello world')
    assert.equal(await redis('GET', 'missing'), '')
    assert.equal(await redis('EXISTS', 'greeting', 'missing', 'greeting'), '2')
    assert.equal(await redis('DEL', 'greeting', 'missing'), '1')
    assert.equal(await redis('EXISTS', 'greeting'), '0')
    assert.equal(await redis('SELECT', '0'), 'OK')
    assert.equal(await redis('SELECT', '1'), 'ERR DB index is out of range')
    assert.equal(await redis('QUIT'), 'OK')
  })

  test('SET with NX, XX, EX and PX; EXPIRE and TTL', async () => {
    assert.equal(await redis('SET', 'once', 'a', 'NX'), 'OK')
    assert.equal(await redis('SET', 'once', 'b', 'NX'), '')
    assert.equal(await redis('SET', 'absent', 'b', 'XX'), '')
    assert.equal(await redis('SET', 'once', 'c', 'XX'), 'OK')
    assert.equal(await redis('GET', 'once'), 'c')
    assert.equal(await redis('TTL', 'once'), '-1')
    assert.equal(await redis('TTL', 'absent'), '-2')
    assert.equal(await redis('SET', 'session', 'x', 'EX', '100'), 'OK')
    assert.equal(await redis('TTL', 'session'), '100')
    assert.equal(await redis('SET', 'flash', 'x', 'PX', '1'), 'OK')
    // redis-cli takes well over a millisecond to start, so the key has expired by now.
    assert.equal(await redis('GET', 'flash'), '', 'a PX 1 key is gone a few ms later')
    assert.equal(await redis('EXPIRE', 'once', '50'), '1')
    assert.equal(await redis('TTL', 'once'), '50')
    assert.equal(await redis('EXPIRE', 'absent', '50'), '0')
    assert.equal(await redis('EXPIRE', 'once', '0'), '1')
    assert.equal(await redis('GET', 'once'), '', 'EXPIRE 0 deletes')
    assert.equal(
      await redis('SET', 'k', 'v', 'EX', 'soon'),
      'ERR value is not an integer or out of range',
    )
    assert.equal(
      await redis('SET', 'k', 'v', 'EX', '0'),
      "ERR invalid expire time in 'set' command",
    )
    assert.equal(await redis('SET', 'k', 'v', 'NX', 'XX'), 'ERR syntax error')
  })

  test('INCR and DECR, atomic across concurrent clients', async () => {
    assert.equal(await redis('INCR', 'counter'), '1')
    assert.equal(await redis('DECR', 'counter'), '0')
    assert.equal(await redis('DECR', 'counter'), '-1')
    await redis('SET', 'word', 'hello')
    assert.equal(await redis('INCR', 'word'), 'ERR value is not an integer or out of range')
    await redis('SET', 'hits', '0', 'EX', '100')
    // 4 redis-cli processes x 25 INCRs each (`-r` repeats a command).
    await Promise.all([...Array(4)].map(() => redis('-r', '25', 'INCR', 'hits')))
    assert.equal(await redis('GET', 'hits'), '100')
    // Seconds pass while 100 INCRs run on a busy machine: the TTL may have
    // ticked down, but without the expiry INCR would have reset, it reads -1.
    const ttl = Number(await redis('TTL', 'hits'))
    assert.ok(ttl > 80 && ttl <= 100, `INCR keeps the expiry (TTL ${ttl})`)
  })

  test('MSET, MGET and KEYS with glob patterns', async () => {
    assert.equal(
      await redis('MSET', 'user:1', 'ann', 'user:2', 'bob', 'user:10', 'cy', 'item:a', 'x'),
      'OK',
    )
    assert.equal(await redis('MGET', 'user:1', 'nope', 'user:2'), 'ann\n\nbob')
    assert.equal(await redis('KEYS', 'user:*'), 'user:1\nuser:10\nuser:2')
    assert.equal(await redis('KEYS', 'user:?'), 'user:1\nuser:2')
    assert.equal(await redis('KEYS', 'user:[12]'), 'user:1\nuser:2')
    assert.equal(await redis('KEYS', '*:a'), 'item:a')
    assert.equal(
      await redis('MSET', 'a', '1', 'b'),
      "ERR wrong number of arguments for 'mset' command",
    )
  })

  test('unknown commands and a bad arity get the -ERR replies Redis gives', async () => {
    assert.equal(
      await redis('FLY', 'away'),
      "ERR unknown command 'FLY', with args beginning with: 'away'",
    )
    assert.equal(await redis('GET'), "ERR wrong number of arguments for 'get' command")
    assert.equal(await redis('GET', 'a', 'b'), "ERR wrong number of arguments for 'get' command")
  })

  test('pipelining: redis-cli --pipe, many commands per chunk, one command over many chunks', async () => {
    const commands = [...Array(500)].map((_, i) => `SET pipe:${i} ${i}\r\n`).join('')
    const stdout = await redisPipe(port, `${commands}INCR pipe:7\r\n`)
    assert.match(stdout, /errors: 0, replies: 501/)
    assert.equal(await redis('GET', 'pipe:7'), '8')
    const batch = await rawSession(
      port,
      [
        '*3\r\n$3\r\nSET\r\n$1\r\np\r\n$2\r\n41\r\n*2\r\n$4\r\nINCR\r\n$1\r\np\r\nPING\r\nGET p\r\n',
      ],
      (received) => received.endsWith('$2\r\n42\r\n'),
    )
    assert.equal(batch.received, '+OK\r\n:42\r\n+PONG\r\n$2\r\n42\r\n')
    const split = await rawSession(
      port,
      [...'*2\r\n$3\r\nGET\r\n$1\r\np\r\n', ...'PI', 'NG\r\n'],
      (received) => received.includes('PONG'),
    )
    assert.equal(split.received, '$2\r\n42\r\n+PONG\r\n')
  })

  test('malformed RESP gets -ERR Protocol error and the connection closed; others go on', async () => {
    const cases: Array<[string, string]> = [
      ['*abc\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
      ['*1\r\n$x\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
      ['*1\r\n$-5\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
      ['*2\r\n:1\r\n', "-ERR Protocol error: expected '$', got ':'\r\n"],
      ['PING\r\n*9999999999\r\n', '+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n'],
    ]
    for (const [input, reply] of cases) {
      const { received, closedByServer } = await rawSession(port, [input])
      assert.equal(received, reply, JSON.stringify(input))
      assert.ok(closedByServer, `the server closes after ${JSON.stringify(input)}`)
    }
    const huge = await rawSession(port, ['x'.repeat(70 * 1024)])
    assert.equal(huge.received, '-ERR Protocol error: too big inline request\r\n')
    assert.equal(await redis('PING'), 'PONG', 'a second client is served')
  })

  test('data survives a restart of the CLI (same SQLite file)', async () => {
    await redis('SET', 'durable', 'still here')
    await cli.stop()
    await start()
    assert.equal(await redis('GET', 'durable'), 'still here')
    assert.equal(await redis('GET', 'pipe:499'), '499')
  })

  test('redis-benchmark -t set,get: ops/s against kv and a real redis-server', async () => {
    await using server = await startRedis()
    const kv = await benchmark(port)
    const real = await benchmark(server.port)
    for (const name of ['SET', 'GET']) {
      const mine = kv[name]
      const theirs = real[name]
      assert.ok(mine && theirs, `redis-benchmark reported ${name} for both`)
      console.log(
        `redis-benchmark ${name}: kv ${mine.toFixed(0)} ops/s, redis-server ${theirs.toFixed(0)} ops/s, ratio ${(mine / theirs).toFixed(3)}`,
      )
    }
  })
})

describe('examples/kv under sockworker serve', () => {
  test('INCR stays atomic across two replicas sharing the SQLite file', async () => {
    await using project = await tempProject({})
    const worker = fileURLToPath(new URL('../../examples/kv/worker.ts', import.meta.url))
    const toml = [
      '[[workers]]',
      'name = "kv"',
      `script = ${JSON.stringify(worker)}`,
      'replicas = 2',
      '[workers.storage]',
      'STORE = { path = "data/kv.sqlite" }',
      '[[workers.listeners]]',
      'type = "tcp"',
      'address = "127.0.0.1:0"',
    ].join('\n')
    await project.write('sockworker.toml', toml)
    await using cli = startCli(['serve', '--config', project.path('sockworker.toml')])
    const { tcp: port = 0 } = await readyPorts(cli, ['tcp'])
    await Promise.all([...Array(8)].map(() => redisCli(port, '-r', '25', 'INCR', 'shared')))
    assert.equal(await redisCli(port, 'GET', 'shared'), '200')
  })
})
