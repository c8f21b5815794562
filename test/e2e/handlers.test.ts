/**
 * End to end: `sockworker dev --tcp 0` runs each handler form, and a
 * node:net client talks to it. The workers are written to temporary
 * directories (dev watches the worker's directory), as a user would write
 * them: plain modules that import nothing from this repository.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { describe, test } from 'node:test'
import { exchange, readyPorts, startCli, tempProject } from './cli.ts'

/** Starts `dev` on `source` (written as `file`) with one TCP listener, and returns its port. */
async function devWorker(file: string, source: string, args: string[] = []) {
  const project = await tempProject({ [file]: source })
  const cli = startCli(['dev', project.path(file), '--tcp', '0', ...args])
  try {
    const { tcp } = await readyPorts(cli, ['tcp'])
    return { cli, port: tcp as number, project }
  } catch (error) {
    await cli.stop()
    await project[Symbol.asyncDispose]()
    throw error
  }
}

/** Runs `body` against a dev worker, then stops the CLI and removes the files. */
async function withWorker(
  file: string,
  source: string,
  body: (port: number) => Promise<void>,
  args: string[] = [],
): Promise<void> {
  const { cli, port, project } = await devWorker(file, source, args)
  await using _project = project
  await using _cli = cli
  try {
    await body(port)
  } catch (error) {
    throw new Error(`${(error as Error).message}\nCLI output:\n${cli.output}`, { cause: error })
  }
}

/** `exchange` options that half-close only once `sent.length` characters are back. */
const whole = (sent: string) => ({ until: (got: string) => got.length >= sent.length })

/** A plain node:net echo server, the upstream for the proxy worker. */
async function echoServer(): Promise<Server & AsyncDisposable> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  })
}

const MODULE_FORM = `
export default {
  connect(socket: { readable: ReadableStream; writable: WritableStream }) {
    return socket.readable.pipeTo(socket.writable)
  },
}
`

const SERVICE_WORKER_FORM = `
addEventListener('connect', (e) => e.socket.readable.pipeTo(e.socket.writable))
`

/** The echo worker exactly as workerd's docs write it: plain JavaScript, no imports. */
const WORKERD_ECHO = `export default {
  async connect(socket) {
    await socket.readable.pipeTo(socket.writable);
  },
};
`

/** A workerd-style TCP proxy: cloudflare:sockets, the upstream from env. */
const WORKERD_PROXY = `import { connect } from 'cloudflare:sockets';

export default {
  async connect(socket, env) {
    const upstream = connect(env.UPSTREAM);
    await Promise.all([
      socket.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(socket.writable),
    ]);
  },
};
`

const ENV_WORKER = `
export default {
  async connect(socket, env) {
    const writer = socket.writable.getWriter()
    await writer.write(new TextEncoder().encode(JSON.stringify(env)))
  },
}
`

/**
 * Returns at once; the reply is written a tick later, inside waitUntil. Were
 * waitUntil ignored, the runtime would close the socket on return and the
 * client would read nothing.
 */
const REPLY = 'written after return'
const WAIT_UNTIL_WORKER = `
export default {
  connect(socket, env, ctx) {
    ctx.waitUntil(
      new Promise((resolve) => setTimeout(resolve, 50)).then(async () => {
        const writer = socket.writable.getWriter()
        await writer.write(new TextEncoder().encode('${REPLY}'))
      }),
    )
  },
}
`

// Each test starts its own CLI (two processes); a few at a time keeps the file
// quick without swamping a two-core CI runner.
describe('sockworker dev: handler forms over TCP', { concurrency: 3 }, () => {
  test('the module form (export default { connect }) echoes', async () => {
    await withWorker('worker.ts', MODULE_FORM, async (port) => {
      assert.equal(await exchange(port, 'module form'), 'module form')
      const big = 'x'.repeat(256 * 1024)
      assert.equal(await exchange(port, big), big)
    })
  })

  test("the service-worker form (addEventListener('connect')) echoes", async () => {
    await withWorker('worker.ts', SERVICE_WORKER_FORM, async (port) => {
      const replies = await Promise.all(
        Array.from({ length: 5 }, (_, i) => exchange(port, `service worker ${i}`)),
      )
      assert.deepEqual(
        replies,
        Array.from({ length: 5 }, (_, i) => `service worker ${i}`),
      )
    })
  })

  // Regression: a throw from an addEventListener('connect') listener used to
  // surface as an uncaught exception and restart the replica.
  test("a connect listener's throw ends its own connection; the replica serves the next", async () => {
    const source = `
let calls = 0
addEventListener('connect', (e) => {
  if (++calls === 1) throw new Error('first connection refused on purpose')
  e.socket.readable.pipeTo(e.socket.writable)
})
`
    const { cli, port, project } = await devWorker('worker.ts', source)
    await using _project = project
    await using _cli = cli
    assert.equal(await exchange(port, 'dropped'), '')
    assert.equal(await exchange(port, 'second'), 'second')
    assert.match(cli.output, /first connection refused on purpose/)
    assert.doesNotMatch(cli.output, /uncaught exception/)
  })

  test('an unchanged workerd-style echo worker (.js) echoes', async () => {
    await withWorker('worker.js', WORKERD_ECHO, async (port) => {
      assert.equal(await exchange(port, 'workerd echo\r\n'), 'workerd echo\r\n')
    })
  })

  test('a workerd-style proxy (cloudflare:sockets connect) reaches env.UPSTREAM and pipes both ways', async () => {
    await using upstream = await echoServer()
    const address = upstream.address()
    assert.ok(address !== null && typeof address === 'object')
    const vars = ['--var', `UPSTREAM=127.0.0.1:${address.port}`]
    await withWorker(
      'worker.js',
      WORKERD_PROXY,
      async (port) => {
        // The client ends only once its echo is back: like Node's own servers,
        // the inbound socket closes both ways when the client ends
        // (allowHalfOpen false), so a reply still in flight would be lost.
        const line = 'through the proxy'
        assert.equal(await exchange(port, line, whole(line)), line)
        const big = 'y'.repeat(128 * 1024)
        assert.equal(await exchange(port, big, whole(big)), big)
      },
      vars,
    )
  })

  test('--var values are in env', async () => {
    const vars = ['--var', 'GREETING=hello there', '--var', 'EQUALS=a=b', '--var', 'EMPTY=']
    await withWorker(
      'worker.ts',
      ENV_WORKER,
      async (port) => {
        const env = JSON.parse(await exchange(port, '', { until: (got) => got.endsWith('}') }))
        assert.deepEqual(env, { GREETING: 'hello there', EQUALS: 'a=b', EMPTY: '' })
      },
      vars,
    )
  })

  test('ctx.waitUntil keeps the socket open after the handler returns', async () => {
    await withWorker('worker.ts', WAIT_UNTIL_WORKER, async (port) => {
      // The reply comes only after the handler has returned: without
      // waitUntil, the runtime would have closed the socket with nothing sent.
      const replies = await Promise.all([
        exchange(port, '', whole(REPLY)),
        exchange(port, '', whole(REPLY)),
      ])
      assert.deepEqual(replies, [REPLY, REPLY])
    })
  })
})
