import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { offeredToken, readTokenFile, selectProtocol, tokenCheck } from './auth.ts'

/** Just the headers a check reads. */
function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage
}

describe('tunnel tokens', () => {
  test('are offered as a subprotocol or a bearer header', () => {
    const protocol = 'sockworker-tunnel.v1, sockworker-token.s3cret'
    assert.equal(offeredToken(request({ 'sec-websocket-protocol': protocol })), 's3cret')
    assert.equal(offeredToken(request({ authorization: 'Bearer s3cret' })), 's3cret')
    assert.equal(offeredToken(request({ authorization: 'Basic czNjcmV0' })), undefined)
    assert.equal(offeredToken(request({ 'sec-websocket-protocol': 'chat' })), undefined)
  })

  test('pass only when equal, whatever the length offered', () => {
    const check = tokenCheck('s3cret')
    const offering = (token: string) =>
      request({ 'sec-websocket-protocol': `sockworker-token.${token}` })
    assert.equal(check(offering('s3cret')), undefined)
    assert.equal(check(offering('s3cre')), 'wrong token')
    assert.equal(check(offering('s3cretX')), 'wrong token')
    assert.equal(check(offering('x'.repeat(10_000))), 'wrong token')
    assert.equal(check(request({})), 'no token')
  })

  test('without a configured token, everyone passes', () => {
    assert.equal(tokenCheck(undefined)(request({})), undefined)
  })

  test('files hold one token; anything else is refused with the file named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sockworker-token-'))
    try {
      await writeFile(join(dir, 'good'), '  abc.DEF_123~+-\n')
      await writeFile(join(dir, 'empty'), '\n')
      await writeFile(join(dir, 'spaces'), 'two words\n')
      assert.equal(readTokenFile(join(dir, 'good')), 'abc.DEF_123~+-')
      assert.throws(() => readTokenFile(join(dir, 'empty')), /"[^"]*empty" must hold one token/)
      assert.throws(() => readTokenFile(join(dir, 'spaces')), /must hold one token/)
      assert.throws(() => readTokenFile(join(dir, 'missing')), /Cannot read the token file/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('the answered subprotocol is ours when offered, never the token when avoidable', () => {
    const ours = 'sockworker-tunnel.v1'
    assert.equal(selectProtocol(new Set(['sockworker-token.x', ours])), ours)
    assert.equal(selectProtocol(new Set(['sockworker-token.x', 'binary'])), 'binary')
    assert.equal(selectProtocol(new Set(['sockworker-token.x'])), 'sockworker-token.x')
    assert.equal(selectProtocol(new Set()), false)
  })
})
