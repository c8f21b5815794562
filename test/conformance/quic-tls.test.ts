/**
 * QUIC's TLS: verification is on by default, and a wrong CA, a wrong name,
 * an expired certificate or an ALPN mismatch reject `opened` with a stable
 * code. The listener never yields a connection whose handshake failed.
 */
import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import { isSocketError } from '@sockworker/sockets'
import { type CertSet, makeCerts } from '../helpers/certs.ts'
import { describeQuic, quicClient, quicServer } from './quic-util.ts'
import { expectUnsupported, lacks, limit, rejection, within } from './util.ts'

let certs: CertSet
before(async () => {
  certs = await makeCerts()
})

async function expectFailure(
  serverTls: { cert: string; key: string; alpn?: string[] },
  client: Parameters<typeof quicClient>[1],
  code: string,
  message: RegExp,
): Promise<void> {
  await using server = await quicServer({ tls: serverTls })
  await using socket = await quicClient(server.port, client)
  const error = await within(rejection(socket.opened, 'opened'), 5000, 'opened to reject')
  assert.ok(isSocketError(error), `Expected a SocketError, got ${String(error)}`)
  assert.equal(error.code, code)
  assert.match(error.message, message)
  assert.notEqual(error.cause, undefined, 'the engine error is kept as cause')
  const closed = await rejection(socket.closed, 'closed')
  assert.ok(isSocketError(closed) && closed.code === code)
}

describeQuic('QUIC TLS', () => {
  test('a certificate from an unknown CA is rejected with ERR_TLS_CERT', limit, async () => {
    await expectFailure(certs.untrusted, {}, 'ERR_TLS_CERT', /certificate/)
  })

  test(
    'the bundled roots do not trust the test CA either (verification is on by default)',
    limit,
    async () => {
      // No ca: the runtime's bundled roots, which do not include the test CA.
      await expectFailure(
        certs.server,
        { tls: { ca: undefined as never } },
        'ERR_TLS_CERT',
        /certificate/,
      )
    },
  )

  test('a certificate for another address is rejected', limit, async () => {
    await expectFailure(certs.wrongHost, {}, 'ERR_TLS_CERT', /certificate/)
  })

  test('a certificate for another name is rejected (SNI host check)', limit, async () => {
    await expectFailure(certs.wrongHost, { sni: 'localhost' }, 'ERR_TLS_CERT', /certificate/)
  })

  test('an expired certificate is rejected', limit, async () => {
    await expectFailure(certs.expired, {}, 'ERR_TLS_CERT', /certificate/)
  })

  test('an ALPN mismatch rejects with ERR_TLS_ALPN', limit, async () => {
    await expectFailure(certs.server, { alpn: ['other'] }, 'ERR_TLS_ALPN', /ALPN/)
  })

  test('the name given as sni is checked and sent', limit, async () => {
    await using server = await quicServer()
    await using client = await quicClient(server.port, { sni: 'localhost' })
    await within(client.opened, 5000, 'the client to open')
    const accepted = await server.next()
    assert.equal((await accepted.opened).tls?.servername, 'localhost')
  })

  test('tls.verify: false accepts an untrusted certificate', limit, async () => {
    await using server = await quicServer({ tls: certs.untrusted })
    await using client = await quicClient(server.port, { tls: { verify: false } })
    if (lacks('tls.verify: false')) return expectUnsupported(client.opened, 'opened')
    const info = await within(client.opened, 5000, 'the client to open')
    assert.equal(info.tls?.authorized, false)
  })
})
