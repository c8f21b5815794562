import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import { installTunnelRoutes, tunnelRouteFor } from './routes.ts'
import { closeReason, parseCloseReason } from './wire.ts'

describe('tunnel routes', () => {
  afterEach(() => installTunnelRoutes({}))

  test('match host and port exactly, host names without regard to case', () => {
    const via = { url: 'wss://tunnel.example:8443', token: 'abc' }
    installTunnelRoutes({ 'DB.internal:5432': via, '[::1]:6379': { url: 'ws://t:1' } })
    assert.deepEqual(tunnelRouteFor('db.internal', 5432), via)
    assert.equal(tunnelRouteFor('db.internal', 5433), undefined)
    assert.deepEqual(tunnelRouteFor('::1', 6379), { url: 'ws://t:1' })
  })

  test('installing replaces the table', () => {
    installTunnelRoutes({ 'a:1': { url: 'ws://t:1' } })
    installTunnelRoutes({ 'b:2': { url: 'ws://t:1' } })
    assert.equal(tunnelRouteFor('a', 1), undefined)
    assert.ok(tunnelRouteFor('b', 2))
  })

  test('refuse a bad key or via, and keep the old table', () => {
    installTunnelRoutes({ 'a:1': { url: 'ws://t:1' } })
    assert.throws(() => installTunnelRoutes({ db: { url: 'ws://t:1' } }), /port is missing/)
    assert.throws(
      () => installTunnelRoutes({ 'db:5432': { url: 'http://t:1' } }),
      /expected a ws:\/\/ or wss:\/\/ address/,
    )
    assert.throws(
      () => installTunnelRoutes({ 'db:5432': { url: 'ws://t:1', token: 'a b' } }),
      /Invalid via.token/,
    )
    assert.ok(tunnelRouteFor('a', 1))
  })
})

describe('close reasons', () => {
  test('carry a code and a message, cut to 123 bytes on a character boundary', () => {
    assert.equal(closeReason('ECONNREFUSED', 'refused'), 'ECONNREFUSED: refused')
    assert.deepEqual(parseCloseReason('ECONNREFUSED: refused'), {
      code: 'ECONNREFUSED',
      message: 'refused',
    })
    const long = closeReason('ERR_SOCKET', 'é'.repeat(200))
    assert.ok(new TextEncoder().encode(long).byteLength <= 123)
    assert.ok(long.endsWith('é...'))
    assert.equal(parseCloseReason('going away'), undefined)
  })
})
