/**
 * Address forms: "host:port", "[v6addr]:port" and { hostname, port } all
 * connect; a malformed address throws at once, quoting the value.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, type SocketAddress } from '@sockworker/sockets'
import { dispose, echoServer, encoder, limit, readText, throwsMistake, within } from './util.ts'

async function roundTrip(address: SocketAddress, expectedRemote: string): Promise<void> {
  const socket = connect(address)
  try {
    const info = await within(socket.opened, 5000, `connect(${JSON.stringify(address)})`)
    assert.equal(info.remoteAddress, expectedRemote)
    const writer = socket.writable.getWriter()
    await writer.write(encoder.encode('ping'))
    assert.equal(await readText(socket.readable.getReader(), 4), 'ping')
  } finally {
    await dispose(socket)
  }
}

test('"host:port" with an IPv4 literal connects', limit, async () => {
  await using server = await echoServer()
  await roundTrip(`127.0.0.1:${server.port}`, '127.0.0.1')
})

test('"host:port" with a host name connects', limit, async () => {
  await using server = await echoServer()
  await roundTrip(`localhost:${server.port}`, '127.0.0.1')
})

test('"[v6addr]:port" connects over IPv6', limit, async () => {
  await using server = await echoServer({ hostname: '::1' })
  await roundTrip(`[::1]:${server.port}`, '::1')
})

test('{ hostname, port } connects, IPv4 and IPv6 (no brackets)', limit, async () => {
  await using v4 = await echoServer()
  await roundTrip({ hostname: '127.0.0.1', port: v4.port }, '127.0.0.1')
  await using v6 = await echoServer({ hostname: '::1' })
  await roundTrip({ hostname: '::1', port: v6.port }, '::1')
})

test('a string without a port throws a TypeError that quotes it', () => {
  throwsMistake(() => connect('localhost'), TypeError, '"localhost"', 'port is missing')
  throwsMistake(() => connect('[::1]'), TypeError, '[::1]', 'port')
})

test('a port that is not a number throws a TypeError that quotes it', () => {
  throwsMistake(() => connect('localhost:http'), TypeError, 'localhost:http')
  throwsMistake(() => connect('localhost:'), TypeError, 'localhost:')
})

test('a port out of range throws a RangeError that quotes it', () => {
  throwsMistake(() => connect('127.0.0.1:99999'), RangeError, '127.0.0.1:99999')
  throwsMistake(() => connect('127.0.0.1:65536'), RangeError, '65536')
  throwsMistake(() => connect('127.0.0.1:0'), RangeError, '127.0.0.1:0')
  throwsMistake(() => connect({ hostname: 'localhost', port: 70000 }), RangeError, '70000')
  throwsMistake(() => connect({ hostname: 'localhost', port: -1 }), RangeError, '-1')
  throwsMistake(() => connect({ hostname: 'localhost', port: 0 }), RangeError, '0')
})

test('a missing host name throws a TypeError', () => {
  throwsMistake(() => connect(':8080'), TypeError, ':8080')
  throwsMistake(() => connect({ hostname: '', port: 80 }), TypeError, 'hostname')
})

test('an unbracketed or unterminated IPv6 address throws a TypeError that quotes it', () => {
  throwsMistake(() => connect('::1:80'), TypeError, '::1:80')
  throwsMistake(() => connect('[::1:80'), TypeError, '[::1:80')
})

test('a URL instead of an address throws a TypeError that quotes it', () => {
  throwsMistake(() => connect({ hostname: 'http://example.com', port: 80 }), TypeError, 'http://')
})

test('an address of the wrong type throws a TypeError', () => {
  throwsMistake(() => connect(42 as unknown as string), TypeError, '42')
  throwsMistake(() => connect(undefined as unknown as string), TypeError)
  throwsMistake(() => connect(''), TypeError)
  throwsMistake(
    () => connect({ hostname: 'localhost', port: '80' } as unknown as SocketAddress),
    TypeError,
    '80',
  )
})
