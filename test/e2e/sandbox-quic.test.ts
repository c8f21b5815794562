/**
 * End to end: outbound QUIC from a sandboxed worker under `sockworker
 * serve`. The test runs a QUIC echo server; a worker whose config has
 * `[workers.sandbox] allow = ["quic"]` and an egress rule for that server
 * reaches it, and is still denied a port its egress rule does not name;
 * the same worker without `allow = ["quic"]` cannot open QUIC at all, and
 * nothing reaches the server.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { listen, type QuicConnection } from '@sockworker/sockets'
import { echo } from '../conformance/quic-util.ts'
import { makeCerts } from '../helpers/certs.ts'
import { freePort } from '../helpers/ports.ts'
import { openClient } from './support/clients.ts'
import { fixture, jsonLog, type Served, serveProject, workerToml } from './support/harness.ts'

// Its `quic` command opens `new Socket({ type: 'quic' })`, sends "ping" on
// the first stream and reports the reply or the error's code.
const script = fixture('egress.js')

async function ask(port: number, line: string): Promise<string> {
  await using client = await openClient(port)
  client.send(`${line}\n`)
  const [reply = ''] = await client.until(/^.*\n/, 10_000)
  return reply.trim()
}

describe('outbound QUIC from a sandboxed worker', () => {
  let server: ReturnType<typeof listen>
  let served: Served
  let quicPort = 0
  let accepted = 0
  const ports = { allowed: 0, refused: 0 }

  before(async () => {
    const certs = await makeCerts()
    server = listen({
      type: 'quic',
      hostname: '127.0.0.1',
      port: 0,
      tls: { ...certs.server, alpn: ['egress'] },
    })
    ;({ port: quicPort } = await server.opened)
    void (async () => {
      for await (const connection of server) {
        accepted++
        echo(connection as QuicConnection)
      }
    })()
    const allow = [`127.0.0.1:${quicPort}`]
    const toml =
      jsonLog +
      workerToml({ name: 'allowed', script, allow, sandbox: ['quic'] }) +
      workerToml({ name: 'refused', script, allow })
    served = await serveProject({ 'sockworker.toml': toml }, 2)
    ;[ports.allowed = 0, ports.refused = 0] = served.ports
  })

  after(async () => {
    await served?.[Symbol.asyncDispose]()
    await server?.close()
  })

  test('allow = ["quic"] and an egress rule: the worker reaches the QUIC server', async () => {
    const before = accepted
    assert.equal(await ask(ports.allowed, `quic 127.0.0.1 ${quicPort}`), 'quic ok ping')
    assert.equal(accepted, before + 1)
  })

  test('allow = ["quic"] does not widen egress: a port the rule does not name is denied', async () => {
    const before = accepted
    const other = await freePort('udp')
    assert.equal(
      await ask(ports.allowed, `quic 127.0.0.1 ${other}`),
      'quic error ERR_EGRESS_DENIED',
    )
    assert.equal(accepted, before)
  })

  test('without allow = ["quic"], the worker cannot open QUIC, and nothing reaches the server', async () => {
    const before = accepted
    const reply = await ask(ports.refused, `quic 127.0.0.1 ${quicPort}`)
    assert.equal(reply, 'quic error EACCES')
    // The message names the key to set, not a broken install.
    const why = await ask(ports.refused, `quic-why 127.0.0.1 ${quicPort}`)
    assert.match(why, /^quic-why ok .*loading it was refused.*allow = \["quic"\]/)
    assert.equal(accepted, before)
  })
})
