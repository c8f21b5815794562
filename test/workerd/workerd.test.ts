/**
 * Issue 9, part 4: Socket Workers run on workerd too. examples/echo and the
 * `cloudflare:sockets` proxy pattern run unchanged on the real workerd
 * (pinned npm package) from a capnp config with a TCP socket whose
 * connections go to the worker's `connect` handler, and a TCP client
 * round-trips through each. The same proxy file also runs under
 * `sockworker dev`.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { stripTypeScriptTypes } from 'node:module'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { exchange, readyPorts, startCli } from '../e2e/cli.ts'
import { startWorkerd } from './workerd.ts'

const proxyFile = new URL('./proxy-worker.js', import.meta.url)
const echoFile = new URL('../../examples/echo/worker.ts', import.meta.url)
const adapterWorkerFile = new URL('./adapter-worker.js', import.meta.url)
const esbuild = fileURLToPath(new URL('../../node_modules/.bin/esbuild', import.meta.url))

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Read until `expected` bytes are back, then end: the inbound side is not half-open. */
const whole = (text: string) => ({ until: (received: string) => received.length >= text.length })

describe('workerd runs Socket Workers', () => {
  let upstream: Server
  let upstreamAddress: string

  before(async () => {
    upstream = createServer((socket) => socket.pipe(socket).on('error', () => {}))
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    upstreamAddress = `127.0.0.1:${(upstream.address() as AddressInfo).port}`
  })
  after(() => upstream?.close())

  test('examples/echo, its types stripped as a Workers bundler does, echoes a TCP client', async () => {
    const source = stripTypeScriptTypes(await readFile(echoFile, 'utf8'))
    await using workerd = await startWorkerd({ modules: { 'worker.js': source } })
    assert.equal(await exchange(workerd.port, 'hello workerd'), 'hello workerd')
    const big = 'e'.repeat(256 * 1024)
    assert.equal(await exchange(workerd.port, big), big)
  })

  test('the cloudflare:sockets proxy pattern reaches env.UPSTREAM and pipes both ways', async () => {
    const source = await readFile(proxyFile, 'utf8')
    await using workerd = await startWorkerd({
      modules: { 'worker.js': source },
      vars: { UPSTREAM: upstreamAddress },
    })
    const line = 'through workerd'
    assert.equal(await exchange(workerd.port, line, whole(line)), line)
  })

  test('@sockworker/sockets under the workerd condition: connect() over cloudflare:sockets, the rest ERR_UNSUPPORTED', async () => {
    // Bundled from the sources, as wrangler bundles: the workerd condition, cloudflare:sockets external.
    const { stdout: bundle } = await promisify(execFile)(esbuild, [
      fileURLToPath(adapterWorkerFile),
      '--bundle',
      '--format=esm',
      '--platform=neutral',
      '--conditions=sockworker-source,workerd,worker',
      '--external:cloudflare:sockets',
    ])
    assert.doesNotMatch(bundle, /from ['"]node:/)
    await using workerd = await startWorkerd({
      modules: { 'worker.js': bundle },
      vars: { UPSTREAM: upstreamAddress, CLOSED: `127.0.0.1:${await closedPort()}` },
    })
    const report = JSON.parse(await exchange(workerd.port, ''))
    assert.deepEqual(report, {
      listen: 'ERR_UNSUPPORTED',
      udp: 'ERR_UNSUPPORTED',
      tlsOption: 'ERR_UNSUPPORTED',
      badAddress: 'TypeError: Cannot parse address "no-port": port is missing; write "host:port"',
      upstream: { echoed: 'ping', isSocket: true, port: Number(upstreamAddress.split(':')[1]) },
      refused: 'ECONNREFUSED',
    })
  })

  test('the same proxy file runs under sockworker dev', async () => {
    await using cli = startCli([
      'dev',
      proxyFile.pathname,
      '--tcp',
      '127.0.0.1:0',
      '--var',
      `UPSTREAM=${upstreamAddress}`,
    ])
    const { tcp } = await readyPorts(cli, ['tcp'])
    const line = 'through sockworker'
    assert.equal(await exchange(tcp ?? 0, line, whole(line)), line)
  })
})
