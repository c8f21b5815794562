/**
 * Interop: `openssl s_client`, a TLS client nobody here wrote, against our
 * TLS listener, our server-side StartTLS (as an SMTP server) and our mutual
 * TLS.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import type { Socket } from '@sockworker/sockets'
import {
  dispose,
  encoder,
  expectUnsupported,
  lacks,
  reportsTlsDetails,
  within,
} from '../conformance/util.ts'
import { type CertSet, makeCerts } from '../helpers/certs.ts'
import { spawnPeer } from '../helpers/process.ts'
import { serve } from '../helpers/serve.ts'

let certs: CertSet
before(async () => {
  certs = await makeCerts()
})

/** s_client that verifies our certificate strictly and treats stdin as plain data. */
function sClient(port: number, extra: string[] = []): string[] {
  return [
    's_client',
    ...['-connect', `127.0.0.1:${port}`, '-servername', 'localhost'],
    ...['-CAfile', certs.files.ca, '-verify_hostname', 'localhost', '-verify_return_error'],
    // Without it, an input line starting with Q, R or k is a command, not data.
    '-nocommands',
    ...extra,
  ]
}

const VERIFIED = /Verify return code: 0 \(ok\)/

async function write(socket: Socket, text: string): Promise<void> {
  const writer = socket.writable.getWriter()
  try {
    await within(writer.write(encoder.encode(text)), 5000, `writing ${JSON.stringify(text)}`)
  } finally {
    writer.releaseLock()
  }
}

/** Reads one line. The conversations here are lock-step, so nothing may follow it. */
async function readLine(socket: Socket): Promise<string> {
  const reader = socket.readable.getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    while (!text.includes('\n')) {
      const { done, value } = await within(reader.read(), 5000, 'a line from s_client')
      if (done) throw new Error(`The connection ended after ${JSON.stringify(text)}`)
      text += decoder.decode(value, { stream: true })
    }
  } finally {
    reader.releaseLock()
  }
  assert.ok(text.endsWith('\n'), `Unexpected data after the line: ${JSON.stringify(text)}`)
  return text.replace(/\r?\n$/, '')
}

/** Resolves once `socket.readable` ends cleanly (s_client closed its side). */
async function readEnd(socket: Socket): Promise<void> {
  const reader = socket.readable.getReader()
  try {
    const { done, value } = await within(reader.read(), 5000, 'the end of the stream')
    assert.ok(done, `Expected the end of the stream, got ${JSON.stringify(value)}`)
  } finally {
    reader.releaseLock()
  }
}

describe('openssl s_client', () => {
  test('talks to our TLS listener both ways', async () => {
    await using srv = await serve({ type: 'tls', tls: certs.server })
    await using peer = await spawnPeer('openssl', sClient(srv.port), { stdin: 'pipe' })
    const accepted = await srv.accept.next()
    try {
      // waitFor() walks forward through the output: this is s_client's order.
      await peer.waitFor(/New, TLSv1\.3, Cipher is/)
      await peer.waitFor(VERIFIED)
      await write(accepted, 'hello from sockworker\n')
      await peer.waitFor('hello from sockworker')
      peer.stdin?.write('hello from openssl\n')
      assert.equal(await readLine(accepted), 'hello from openssl')

      // EOF on s_client's stdin makes it close the connection.
      peer.stdin?.end()
      await readEnd(accepted)
      await within(accepted.closed, 5000, 'the accepted socket to close')
      assert.equal((await peer.waitExit()).code, 0, peer.output)
    } finally {
      await dispose(accepted)
    }
  })

  test('-starttls smtp upgrades through our server-side startTls()', async () => {
    await using srv = await serve({ type: 'tcp', tls: certs.server })
    const args = sClient(srv.port, ['-starttls', 'smtp', '-name', 'sockworker.test'])
    await using peer = await spawnPeer('openssl', args, { stdin: 'pipe' })
    const plain = await srv.accept.next()
    let secure: Socket | undefined
    try {
      await write(plain, '220 ready\r\n')
      assert.equal(await readLine(plain), 'EHLO sockworker.test')
      await write(plain, '250-hi\r\n250 STARTTLS\r\n')
      assert.equal(await readLine(plain), 'STARTTLS')
      await write(plain, '220 go ahead\r\n')
      secure = plain.startTls()
      if (lacks('server StartTLS')) return await expectUnsupported(secure.opened, 'startTls()')

      const info = await within(secure.opened, 5000, 'the TLS handshake with s_client')
      if (reportsTlsDetails) assert.equal(info.tls?.protocol, 'TLSv1.3')
      await within(plain.closed, 5000, 'the plaintext socket to resolve closed')
      await peer.waitFor(VERIFIED)
      assert.doesNotMatch(peer.output, /Didn't find STARTTLS/)

      await write(secure, '250 secure hello\r\n')
      await peer.waitFor('250 secure hello')
      peer.stdin?.write('MAIL FROM:<a@sockworker.test>\r\n')
      assert.equal(await readLine(secure), 'MAIL FROM:<a@sockworker.test>')
    } finally {
      await dispose(plain, secure)
    }
  })

  test('mutual TLS: a client certificate is required and seen', async () => {
    if (lacks('TLS client certificates on the server')) {
      const options = { ...certs.server, requestCert: true, ca: certs.ca }
      return expectUnsupported(serve({ type: 'tls', tls: options }), 'listen()')
    }
    await using srv = await serve({
      type: 'tls',
      tls: { ...certs.server, requestCert: true, ca: certs.ca },
    })
    const files = certs.files
    const args = sClient(srv.port, ['-cert', files.clientCert, '-key', files.clientKey])
    await using peer = await spawnPeer('openssl', args, { stdin: 'pipe' })
    const accepted = await srv.accept.next()
    try {
      const info = await within(accepted.opened, 5000, 'the mTLS handshake')
      assert.match(info.tls?.peerCertificate?.subject ?? '', /CN=client/)
      assert.equal(info.tls?.authorized, true)
      await peer.waitFor(VERIFIED)
      peer.stdin?.write('authenticated hello\n')
      assert.equal(await readLine(accepted), 'authenticated hello')
    } finally {
      await dispose(accepted)
    }
  })

  test('mutual TLS: s_client without a certificate is refused', async () => {
    if (lacks('TLS client certificates on the server')) {
      const options = { ...certs.server, requestCert: true, ca: certs.ca }
      return expectUnsupported(serve({ type: 'tls', tls: options }), 'listen()')
    }
    await using srv = await serve({
      type: 'tls',
      tls: { ...certs.server, requestCert: true, ca: certs.ca },
    })
    // With stdin open, s_client only exits because the server refused it.
    await using peer = await spawnPeer('openssl', sClient(srv.port), { stdin: 'pipe' })
    const exit = await peer.waitExit()
    assert.notEqual(exit.code, 0, peer.output)
    assert.match(peer.output, /certificate required|alert number 116/i)
  })
})
