/**
 * Diagnosing a refused upgrade: a plain HTTP request to the daemon, whose
 * status tells a bad token from anything else. A stand-in daemon answers.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { closeFailure, describeTunnel, diagnoseRefusal } from './failure.ts'

describe('diagnoseRefusal', () => {
  const seen: IncomingMessage[] = []
  const daemon = createServer((request, response) => {
    seen.push(request)
    const good = request.headers.authorization === 'Bearer right'
    response.writeHead(request.url === '/other' ? 404 : good ? 426 : 401).end()
  })
  let url = ''

  before(async () => {
    daemon.listen(0, '127.0.0.1')
    await once(daemon, 'listening')
    url = `ws://127.0.0.1:${(daemon.address() as AddressInfo).port}`
  })
  after(() => daemon.close())

  test('401 is a refused token, or a missing one', async () => {
    const wrong = await diagnoseRefusal({ target: 'db:5432', via: { url, token: 'wrong' } })
    assert.equal(wrong.code, 'ERR_TUNNEL_AUTH')
    assert.match(wrong.message, /refused the token \(HTTP 401\)/)
    assert.equal(seen.at(-1)?.headers.authorization, 'Bearer wrong')
    const missing = await diagnoseRefusal({ target: 'db:5432', via: { url } })
    assert.equal(missing.code, 'ERR_TUNNEL_AUTH')
    assert.match(missing.message, /needs a token/)
  })

  test('another status means the address is not a tunnel', async () => {
    const error = await diagnoseRefusal({ target: 'db:5432', via: { url: `${url}/other` } })
    assert.equal(error.code, 'ERR_SOCKET')
    assert.match(error.message, /HTTP 404/)
  })

  test('an unreachable daemon keeps the network error code', async () => {
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    closed.close()
    const error = await diagnoseRefusal({
      target: 'db:5432',
      via: { url: `ws://127.0.0.1:${port}` },
    })
    assert.equal(error.code, 'ECONNREFUSED')
    assert.match(error.message, /cannot reach the tunnel/)
  })
})

describe('closeFailure', () => {
  const route = { target: 'db:5432', via: { url: 'wss://user:pw@t.example:8443/?x=1' } }

  test('a clean close after open is no failure; before open it is', () => {
    assert.equal(closeFailure(route, 1000, '', true), undefined)
    assert.equal(closeFailure(route, 1000, '', false)?.code, 'ECONNRESET')
  })

  test('unknown relayed codes become ERR_SOCKET', () => {
    assert.equal(closeFailure(route, 1011, 'EWHAT: odd', true)?.code, 'ERR_SOCKET')
  })

  test('messages never show credentials or the query', () => {
    assert.equal(describeTunnel(route.via.url), 'wss://t.example:8443')
    assert.doesNotMatch(closeFailure(route, 1006, '', true)?.message ?? '', /pw|x=1/)
  })
})
