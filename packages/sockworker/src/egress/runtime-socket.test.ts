/**
 * The runtime socket factory: a socket reaches the one destination it was
 * made for, once, and a call naming another host or port, or a second
 * connect, fails with ERR_EGRESS_DENIED without leaving the process.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import * as net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { runtimeSocketFactory } from './runtime-socket.ts'

describe('runtimeSocketFactory', () => {
  const server = net.createServer((socket) => socket.end())
  let port = 0
  before(async () => {
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as net.AddressInfo).port
  })
  after(() => server.close())
  const factory = runtimeSocketFactory(
    net.Socket.prototype.connect as (this: net.Socket, ...args: unknown[]) => net.Socket,
  )

  it('connects to its destination, in the forms drivers use', async () => {
    for (const args of [[port, '127.0.0.1'], [{ host: '127.0.0.1', port }], []]) {
      const socket = factory({ host: '127.0.0.1', port })
      socket.connect(...(args as [number, string]))
      await once(socket, 'connect')
      socket.destroy()
    }
  })

  it('refuses another destination, and a second connect', async () => {
    const elsewhere = factory({ host: '127.0.0.1', port })
    assert.throws(() => elsewhere.connect(port + 1, '127.0.0.1'), {
      code: 'ERR_EGRESS_DENIED',
      message: /cannot connect to 127\.0\.0\.1:\d+/,
    })
    assert.throws(
      () => elsewhere.connect({ host: '10.0.0.1', port }),
      /cannot connect to 10\.0\.0\.1/,
    )

    const twice = factory({ host: '127.0.0.1', port })
    twice.connect(port, '127.0.0.1')
    await once(twice, 'connect')
    twice.destroy()
    await once(twice, 'close')
    assert.throws(() => twice.connect(port, '127.0.0.1'), {
      code: 'ERR_EGRESS_DENIED',
      message: /a second time/,
    })
  })
})
