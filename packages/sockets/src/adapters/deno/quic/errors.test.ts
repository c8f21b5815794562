/**
 * quinn's messages, as Deno 2.9.6 printed them in the probes of
 * docs/runtimes.md, map to our codes. The QUIC conformance files check the
 * same on Deno end to end; this pins the strings so that a Deno upgrade
 * that rewords them fails here, with the message in view.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { quicError, streamError } from './errors.ts'

const action = 'connect to 127.0.0.1:4433'

test('certificate failures are ERR_TLS_CERT, with the engine error as cause', () => {
  for (const message of [
    'the cryptographic handshake failed: error 48: invalid peer certificate: UnknownIssuer',
    'the cryptographic handshake failed: error 42: invalid peer certificate: certificate not valid for name "127.0.0.1"; certificate is only valid for DnsName("wrong.example")',
    'the cryptographic handshake failed: error 45: invalid peer certificate: certificate expired: verification time 1796166262 (UNIX), but certificate is not valid after 1609459199 (186707063 seconds ago)',
  ]) {
    const cause = new Error(message)
    const error = quicError(cause, action, 30_000)
    assert.equal(error.code, 'ERR_TLS_CERT', message)
    assert.equal(error.cause, cause)
    assert.match(error.message, /^Cannot connect to 127\.0\.0\.1:4433: .*tls\.ca/)
  }
})

test('no ALPN in common is ERR_TLS_ALPN, on both sides', () => {
  for (const message of [
    "aborted by peer: the cryptographic handshake failed: error 120: peer doesn't support any known protocol",
    "the cryptographic handshake failed: error 120: peer doesn't support any known protocol",
  ]) {
    assert.equal(quicError(new Error(message), action, 30_000).code, 'ERR_TLS_ALPN')
  }
})

test('"timed out" is ETIMEDOUT naming idleTimeout, for a handshake and an idle connection', () => {
  const connecting = quicError(new Error('timed out'), action, 300)
  assert.equal(connecting.code, 'ETIMEDOUT')
  assert.match(connecting.message, /no answer within idleTimeout \(300 ms\)/)
  const idle = quicError(new Error('timed out'), 'talk to 127.0.0.1:4433', 300)
  assert.match(idle.message, /idle for longer than idleTimeout \(300 ms\)/)
})

test('a peer reset or stop carries its streamErrorCode; other stream errors do not', () => {
  const reset = streamError(new Error('stream reset by peer: error 9'), 'read')
  assert.equal(reset.code, 'ECONNRESET')
  assert.equal((reset as { streamErrorCode?: number }).streamErrorCode, 9)
  const stopped = streamError(new Error('sending stopped by peer: error 5'), 'write')
  assert.equal((stopped as { streamErrorCode?: number }).streamErrorCode, 5)
  assert.match(stopped.message, /stopped the QUIC stream with code 5/)
  const other = streamError(new Error('connection lost'), 'read')
  assert.equal((other as { streamErrorCode?: number }).streamErrorCode, undefined)
})
