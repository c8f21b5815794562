/**
 * `reusePort: true` lets several listeners bind one port, as replicas of one
 * service do. Bun cannot share a UDP port (docs/runtimes.md): there the
 * listener's `opened` rejects with ERR_UNSUPPORTED instead.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { listen, type SocketListener } from '@sockworker/sockets'
import { expectUnsupported, lacks, limit, rejection, within } from './util.ts'

for (const type of ['tcp', 'udp'] as const) {
  test(`two ${type.toUpperCase()} listeners with reusePort bind the same port`, limit, async () => {
    const listeners: SocketListener[] = []
    try {
      const first = listen({ type, hostname: '127.0.0.1', port: 0, reusePort: true })
      listeners.push(first)
      first.closed.catch(() => {})
      if (type === 'udp' && lacks('UDP reusePort'))
        return await expectUnsupported(first.opened, 'listen()')
      const { port } = await within(first.opened, 5000, 'the first listener')
      const second = listen({ type, hostname: '127.0.0.1', port, reusePort: true })
      listeners.push(second)
      const info = await within(second.opened, 5000, 'the second listener')
      assert.equal(info.port, port)
    } finally {
      await Promise.all(listeners.map((l) => l.close().catch(() => {})))
    }
  })
}

test('without reusePort, a second TCP listener on the port is refused', limit, async () => {
  const first = listen({ hostname: '127.0.0.1', port: 0, reusePort: true })
  try {
    const { port } = await within(first.opened, 5000, 'the first listener')
    const second = listen({ hostname: '127.0.0.1', port })
    second.closed.catch(() => {})
    const error = await within(rejection(second.opened, 'opened'), 5000, 'the bind to fail')
    assert.equal((error as { code?: unknown }).code, 'EADDRINUSE')
  } finally {
    await first.close()
  }
})
