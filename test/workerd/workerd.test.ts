/**
 * Issue 9, part 4: Socket Workers run on workerd too. examples/echo and the
 * `cloudflare:sockets` proxy pattern run unchanged on the real workerd
 * (pinned npm package) from a capnp config with a TCP socket whose
 * connections go to the worker's `connect` handler, and a TCP client
 * round-trips through each. The same proxy file also runs under
 * `sockworker dev`.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { stripTypeScriptTypes } from 'node:module'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { exchange, readyPorts, startCli } from '../e2e/cli.ts'
import { startWorkerd } from './workerd.ts'

const proxyFile = new URL('./proxy-worker.js', import.meta.url)
const echoFile = new URL('../../examples/echo/worker.ts', import.meta.url)

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
