/**
 * new Socket(init), the constructor form from the original proposal: the same
 * socket as connect() returns, with its own checks on `type` and `remote`.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Socket, type SocketInit } from '@sockworker/sockets'
import { dispose, echoServer, encoder, limit, readText, throwsMistake, within } from './util.ts'

async function echoes(socket: Socket): Promise<void> {
  await socket.writable.getWriter().write(encoder.encode('echo'))
  assert.equal(await readText(socket.readable.getReader(), 4), 'echo')
}

test('new Socket({ type: "tcp", remote }) connects like connect()', limit, async () => {
  await using echo = await echoServer()
  const socket = new Socket({ type: 'tcp', remote: { address: '127.0.0.1', port: echo.port } })
  try {
    assert.ok(socket instanceof EventTarget)
    const info = await within(socket.opened, 5000, 'opened')
    assert.equal(info.type, 'tcp')
    assert.equal(info.remotePort, echo.port)
    assert.equal(socket.secureTransport, 'off')
    await echoes(socket)
  } finally {
    await dispose(socket)
  }
})

test('type defaults to "tcp", and remote may use hostname', limit, async () => {
  await using echo = await echoServer()
  const socket = new Socket({ remote: { hostname: 'localhost', port: echo.port } })
  try {
    assert.equal((await within(socket.opened, 5000, 'opened')).type, 'tcp')
    await echoes(socket)
  } finally {
    await dispose(socket)
  }
})

test('local binds the TCP socket to a local address', limit, async () => {
  await using echo = await echoServer()
  const socket = new Socket({
    type: 'tcp',
    remote: { address: '127.0.0.1', port: echo.port },
    local: { address: '127.0.0.1', port: 0 },
  })
  try {
    const info = await within(socket.opened, 5000, 'opened')
    assert.equal(info.localAddress, '127.0.0.1')
    assert.ok((info.localPort ?? 0) > 0)
  } finally {
    await dispose(socket)
  }
})

test('options are validated as for connect()', () => {
  const remote = { address: '127.0.0.1', port: 9 }
  throwsMistake(() => new Socket({ remote, connectTimeout: -1 }), RangeError, 'connectTimeout')
  throwsMistake(
    () => new Socket({ remote, allowHalfOpen: 'no' } as unknown as SocketInit),
    TypeError,
    'allowHalfOpen',
  )
})

test('an unknown type throws a TypeError that quotes it', () => {
  throwsMistake(
    () =>
      new Socket({
        type: 'sctp',
        remote: { address: '127.0.0.1', port: 9 },
      } as unknown as SocketInit),
    TypeError,
    'sctp',
  )
})

test('TCP without remote throws a TypeError', () => {
  throwsMistake(() => new Socket({ type: 'tcp' }), TypeError, 'remote')
  throwsMistake(() => new Socket({}), TypeError, 'remote')
})

test('a bad remote port or address throws at once', () => {
  throwsMistake(
    () => new Socket({ type: 'tcp', remote: { address: '127.0.0.1', port: 0 } }),
    RangeError,
    '0',
  )
  throwsMistake(
    () => new Socket({ type: 'tcp', remote: { address: '127.0.0.1', port: 65536 } }),
    RangeError,
    '65536',
  )
  throwsMistake(() => new Socket({ type: 'tcp', remote: { address: '', port: 80 } }), TypeError)
  throwsMistake(
    () => new Socket({ type: 'udp', local: { address: '127.0.0.1', port: 70000 } }),
    RangeError,
    '70000',
  )
})

test('an init that is not an object throws a TypeError', () => {
  throwsMistake(() => new Socket('127.0.0.1:80' as unknown as SocketInit), TypeError)
})
