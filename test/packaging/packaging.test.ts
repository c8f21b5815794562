/**
 * Issue 9, "installable everywhere": the packed packages, installed into a
 * fresh `npm init -y` project (`"type": "commonjs"`, as npm writes it), work
 * the way a user reaches for them: the CLI through npx, an ESM import, a
 * `require()`, a strict TypeScript consumer, and Deno and Bun importing the
 * same installed package. Every step fails, never skips, when it breaks.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { exchange } from '../e2e/cli.ts'
import { spawnPeer } from '../helpers/process.ts'
import { startWorkerd } from '../workerd/workerd.ts'
import { type InstalledProject, installPacked, repoBin, run, userEnv } from './installed.ts'

/**
 * The worker is ESM `.js` in the CommonJS project `npm init -y` made: the
 * runtime loads a worker's own files as modules whatever the project says.
 */
const files: Record<string, string> = {
  'worker.js': `export default {
  async connect(socket) {
    await socket.readable.pipeTo(socket.writable)
  },
}
`,
  // One round trip through the package's connect(); the port and the word come from argv.
  'client.mjs': `import { connect } from '@sockworker/sockets'
const [port, word] = process.argv.slice(-2)
const socket = connect(\`127.0.0.1:\${port}\`)
const writer = socket.writable.getWriter()
await writer.write(new TextEncoder().encode(word))
const { value } = await socket.readable.getReader().read()
console.log(new TextDecoder().decode(value))
await socket.close()
`,
  'client.cjs': `const { connect } = require('@sockworker/sockets')
const [port, word] = process.argv.slice(-2)
async function main() {
  const socket = connect(\`127.0.0.1:\${port}\`)
  const writer = socket.writable.getWriter()
  await writer.write(new TextEncoder().encode(word))
  const { value } = await socket.readable.getReader().read()
  console.log(new TextDecoder().decode(value))
  await socket.close()
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
`,
  'consumer.ts': `import { connect, listen, type Socket, SocketError, type SocketInfo } from '@sockworker/sockets'

export async function roundTrip(address: string): Promise<SocketInfo> {
  const socket: Socket = connect(address, { secureTransport: 'off', allowHalfOpen: false })
  try {
    return await socket.opened
  } catch (error) {
    if (error instanceof SocketError && error.code === 'ECONNREFUSED') throw new Error('refused')
    throw error
  } finally {
    await socket.close()
  }
}
export const listener = listen({ port: 0 })
`,
  // A library written against our API, used by a Cloudflare worker: bundled
  // with the workerd condition, it reaches the network through cloudflare:sockets.
  'cloudflare-worker.mjs': `import { connect, isSocketError, listen } from '@sockworker/sockets'

function listenCode() {
  try {
    listen({ port: 0 })
    return 'listened'
  } catch (error) {
    return isSocketError(error) ? error.code : String(error)
  }
}

export default {
  async connect(socket, env) {
    const writer = socket.writable.getWriter()
    await writer.write(new TextEncoder().encode(listenCode() + ' '))
    writer.releaseLock()
    const upstream = connect(env.UPSTREAM)
    await Promise.all([
      socket.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(socket.writable),
    ])
  },
}
`,
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'es2024',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: false,
      noEmit: true,
      types: [],
    },
    files: ['consumer.ts'],
  }),
}

describe('the packed packages, installed into a fresh project', () => {
  let project: InstalledProject
  /** The clients' peer: a plain node:net echo server, so each client step stands alone. */
  let echo: Server
  let port: number

  before(async () => {
    project = await installPacked()
    for (const [name, text] of Object.entries(files)) await writeFile(join(project.dir, name), text)
    echo = createServer((socket) => socket.pipe(socket).on('error', () => {}))
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
    port = (echo.address() as AddressInfo).port
  })
  after(async () => {
    echo?.close()
    await project?.[Symbol.asyncDispose]()
  })

  test('the tarballs ship JavaScript, declarations and source maps, and no tests', async () => {
    for (const tarball of Object.values(project.tarballs)) {
      const listing = (await run('tar', ['tzf', tarball], { cwd: project.dir })).split('\n')
      assert.ok(
        listing.some((file) => /^package\/dist\/.+\.js$/.test(file)),
        `${tarball}: no dist/*.js`,
      )
      assert.ok(
        listing.some((file) => /^package\/dist\/.+\.d\.ts$/.test(file)),
        `${tarball}: no .d.ts`,
      )
      assert.ok(
        listing.some((file) => /^package\/dist\/.+\.js\.map$/.test(file)),
        `${tarball}: no maps`,
      )
      assert.deepEqual(
        listing.filter((file) => /\.test\.|\/test-/.test(file)),
        [],
        `${tarball} ships tests`,
      )
    }
  })

  test('exports list types first, then deno, bun, workerd, node, default; bin is JavaScript', async () => {
    const modules = join(project.dir, 'node_modules')
    const sockets = JSON.parse(
      await readFile(join(modules, '@sockworker/sockets/package.json'), 'utf8'),
    )
    const conditions = Object.keys(sockets.exports['.']).filter(
      (key) => key !== 'sockworker-source',
    )
    assert.deepEqual(conditions, ['types', 'deno', 'bun', 'workerd', 'node', 'default'])
    const sockworker = JSON.parse(await readFile(join(modules, 'sockworker/package.json'), 'utf8'))
    assert.match(sockworker.bin.sockworker, /^\.\/dist\/.+\.js$/)
  })

  test('npx sockworker dev serves the worker, and a TCP client round-trips', async () => {
    await using dev = await spawnPeer(
      'npx',
      ['--no-install', 'sockworker', 'dev', 'worker.js', '--tcp', '127.0.0.1:0'],
      {
        cwd: project.dir,
        env: userEnv(),
        group: true,
        waitFor: /ready tcp [\d.]+:(\d+)/,
        timeout: 60_000,
      },
    )
    const echoed = await exchange(Number(dev.ready?.[1]), 'through npx').catch((error: Error) => {
      throw new Error(`${error.message}; sockworker dev printed:\n${dev.output}`, { cause: error })
    })
    assert.equal(echoed, 'through npx')
  })

  test("an ESM client: import { connect } from '@sockworker/sockets'", async () => {
    const out = await run(process.execPath, ['client.mjs', String(port), 'esm'], {
      cwd: project.dir,
    })
    assert.equal(out.trim(), 'esm')
  })

  test("a CommonJS client: require('@sockworker/sockets')", async () => {
    const out = await run(process.execPath, ['client.cjs', String(port), 'cjs'], {
      cwd: project.dir,
    })
    assert.equal(out.trim(), 'cjs')
  })

  test('a TypeScript consumer typechecks (nodenext, skipLibCheck false)', async () => {
    await run(process.execPath, [repoBin('tsc'), '-p', 'tsconfig.json'], { cwd: project.dir })
  })

  test('Deno imports the installed package and round-trips', async () => {
    const out = await run(repoBin('deno'), ['run', '-A', 'client.mjs', String(port), 'deno'], {
      cwd: project.dir,
    })
    assert.equal(out.trim(), 'deno')
  })

  test('Bun imports the installed package and round-trips', async () => {
    const out = await run(repoBin('bun'), ['client.mjs', String(port), 'bun'], { cwd: project.dir })
    assert.equal(out.trim(), 'bun')
  })

  test('a library using @sockworker/sockets runs on workerd, bundled as wrangler does', async () => {
    // esbuild with the workerd condition, cloudflare:sockets left to workerd: what wrangler does.
    await run(
      repoBin('esbuild'),
      [
        'cloudflare-worker.mjs',
        '--bundle',
        '--format=esm',
        '--platform=neutral',
        '--conditions=workerd,worker',
        '--external:cloudflare:sockets',
        '--outfile=cloudflare-bundle.js',
      ],
      { cwd: project.dir },
    )
    const bundle = await readFile(join(project.dir, 'cloudflare-bundle.js'), 'utf8')
    assert.doesNotMatch(bundle, /from ['"]node:/, 'the workerd build must not import node:*')
    await using workerd = await startWorkerd({
      modules: { 'worker.js': bundle },
      vars: { UPSTREAM: `127.0.0.1:${port}` },
    })
    const expected = 'ERR_UNSUPPORTED on cloudflare'
    const received = await exchange(workerd.port, 'on cloudflare', {
      until: (text) => text.length >= expected.length,
    })
    assert.equal(received, expected)
  })
})
