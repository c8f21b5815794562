/**
 * Option validation: a caller's mistake throws a TypeError or RangeError at
 * once, naming the option and quoting the value; valid options connect.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, listen, type SocketOptions } from '@sockworker/sockets'
import {
  dispose,
  echoServer,
  encoder,
  expectUnsupported,
  lacks,
  limit,
  readText,
  throwsMistake,
  within,
} from './util.ts'

const address = '127.0.0.1:9' // never reached: every call below must throw first

function bad(options: unknown): () => unknown {
  return () => connect(address, options as SocketOptions)
}

test('an unknown secureTransport throws a TypeError', () => {
  throwsMistake(bad({ secureTransport: 'tls' }), TypeError, 'secureTransport', 'tls')
  throwsMistake(bad({ secureTransport: true }), TypeError, 'secureTransport')
})

test('negative timeouts throw a RangeError', () => {
  throwsMistake(bad({ connectTimeout: -1 }), RangeError, 'connectTimeout', '-1')
  throwsMistake(bad({ idleTimeout: -5 }), RangeError, 'idleTimeout', '-5')
})

test('timeouts that are not numbers throw a TypeError', () => {
  throwsMistake(bad({ connectTimeout: 'soon' }), TypeError, 'connectTimeout', 'soon')
  throwsMistake(bad({ idleTimeout: '1s' }), TypeError, 'idleTimeout', '1s')
})

test('boolean options reject other types', () => {
  throwsMistake(bad({ allowHalfOpen: 'yes' }), TypeError, 'allowHalfOpen', 'yes')
  throwsMistake(bad({ noDelay: 1 }), TypeError, 'noDelay')
})

test('keepAlive takes a boolean or a non-negative delay', () => {
  throwsMistake(bad({ keepAlive: -1 }), RangeError, 'keepAlive', '-1')
})

test('highWaterMark must be a non-negative integer', () => {
  throwsMistake(bad({ highWaterMark: -1 }), RangeError, 'highWaterMark', '-1')
})

test('signal must be an AbortSignal', () => {
  throwsMistake(bad({ signal: {} }), TypeError, 'signal')
})

test('alpn must be an array of protocol names', () => {
  throwsMistake(bad({ alpn: 'h2' }), TypeError, 'alpn', 'h2')
})

test('sni must be a non-empty host name', () => {
  throwsMistake(bad({ sni: '' }), TypeError, 'sni')
})

test('tls.cert without tls.key throws a TypeError', () => {
  throwsMistake(bad({ tls: { cert: 'PEM' } }), TypeError, 'key')
})

test('options that are not an object throw a TypeError', () => {
  throwsMistake(bad('fast'), TypeError)
})

test('listen() validates its options at once', () => {
  throwsMistake(() => listen({ port: 70000 }), RangeError, '70000')
  throwsMistake(() => listen({ port: -1 }), RangeError, '-1')
  throwsMistake(
    () => listen({ type: 'sctp' } as unknown as Parameters<typeof listen>[0]),
    TypeError,
    'sctp',
  )
  throwsMistake(() => listen({ hostname: '' }), TypeError, 'hostname')
  throwsMistake(() => listen({ idleTimeout: -1 }), RangeError, 'idleTimeout', '-1')
  throwsMistake(() => listen({ type: 'tls' }), TypeError, 'tls')
})

test(
  'keepAlive: a delay in ms is used, or ERR_UNSUPPORTED where the runtime cannot set it',
  limit,
  async () => {
    await using server = await echoServer()
    const socket = connect(server.address, { keepAlive: 1000 })
    try {
      if (lacks('keepAlive delay')) return await expectUnsupported(socket.opened, 'opened')
      await within(socket.opened, 5000, 'the socket to open')
    } finally {
      await dispose(socket)
    }
  },
)

test('every valid plain-TCP option is accepted together', limit, async () => {
  await using server = await echoServer()
  const controller = new AbortController()
  const socket = connect(server.address, {
    secureTransport: 'off',
    allowHalfOpen: false,
    noDelay: false,
    keepAlive: lacks('keepAlive delay') ? true : 1000,
    connectTimeout: 5000,
    idleTimeout: 0,
    highWaterMark: 1024,
    signal: controller.signal,
  })
  try {
    await within(socket.opened, 5000, 'the socket to open')
    assert.equal(socket.secureTransport, 'off')
    await socket.writable.getWriter().write(encoder.encode('ok?'))
    assert.equal(await readText(socket.readable.getReader(), 3), 'ok?')
  } finally {
    await dispose(socket)
  }
})
