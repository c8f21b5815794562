import assert from 'node:assert/strict'
import * as dgram from 'node:dgram'
import type { LookupAddress } from 'node:dns'
import { once } from 'node:events'
import * as net from 'node:net'
import { describe, test } from 'node:test'
import { EgressPolicy } from './policy.ts'

const answers: Record<string, string[]> = {
  'db.test': ['10.0.0.9', '127.0.0.1'],
  'dual.test': ['::1', '127.0.0.1'],
  'lan.test': ['10.0.0.9', 'fd00::9'],
  'v6.test': ['::1'],
}
const resolve = async (host: string): Promise<string[]> => answers[host] ?? []

const loopbackOnly = EgressPolicy.parse({ allow: ['loopback'], deny: [] })

type Result = { error: NodeJS.ErrnoException | null; address?: unknown; family?: unknown }

/** Calls a lookup function with Node's argument forms and collects its callback. */
function call(lookup: (...args: unknown[]) => void, ...args: unknown[]): Promise<Result> {
  const { promise, resolve: settle } = Promise.withResolvers<Result>()
  lookup(...args, (error: NodeJS.ErrnoException | null, address?: unknown, family?: unknown) =>
    settle({ error, address, family }),
  )
  return promise
}

const lookupOf = (policy: EgressPolicy, port: number) =>
  policy.lookupFor(port, { resolve }) as unknown as (...args: unknown[]) => void

describe('lookupFor: the dns.lookup callback forms', () => {
  test('all: true, as net uses when racing families, gets every passing address', async () => {
    const result = await call(lookupOf(loopbackOnly, 5432), 'dual.test', { all: true })
    assert.deepEqual(result, {
      error: null,
      address: [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ] satisfies LookupAddress[],
      family: undefined,
    })
    const filtered = await call(lookupOf(loopbackOnly, 5432), 'db.test', { all: true })
    assert.deepEqual(filtered.address, [{ address: '127.0.0.1', family: 4 }])
  })

  test('the single-address form gets the first passing address and its family', async () => {
    assert.deepEqual(await call(lookupOf(loopbackOnly, 80), 'db.test', {}), {
      error: null,
      address: '127.0.0.1',
      family: 4,
    })
    assert.deepEqual(await call(lookupOf(loopbackOnly, 80), 'db.test'), {
      error: null,
      address: '127.0.0.1',
      family: 4,
    })
  })

  test('a family, given as dgram does (a number) or as an option, filters the answers', async () => {
    const lookup = lookupOf(loopbackOnly, 53)
    assert.equal((await call(lookup, 'dual.test', 4)).address, '127.0.0.1')
    assert.equal((await call(lookup, 'dual.test', 6)).address, '::1')
    assert.equal(
      (await call(lookup, 'dual.test', { family: 'IPv4', all: false })).address,
      '127.0.0.1',
    )
    const none = await call(lookup, 'v6.test', { family: 4 })
    assert.equal(none.error?.code, 'ENOTFOUND')
  })

  test('a denial calls back with ERR_EGRESS_DENIED and the reason', async () => {
    for (const options of [{ all: true }, {}]) {
      const { error } = await call(lookupOf(loopbackOnly, 5432), 'lan.test', options)
      assert.equal(error?.name, 'SocketError')
      assert.equal(error?.code, 'ERR_EGRESS_DENIED')
      assert.equal(
        error?.message,
        'Egress to "lan.test:5432" denied: it resolves to 10.0.0.9 (a private address) and fd00::9 ' +
          '(a private address), and the policy allows only loopback',
      )
    }
  })

  test('an IP literal handed to lookup is checked too', async () => {
    assert.deepEqual(await call(lookupOf(loopbackOnly, 1), '127.0.0.1', {}), {
      error: null,
      address: '127.0.0.1',
      family: 4,
    })
    assert.equal(
      (await call(lookupOf(loopbackOnly, 1), '10.0.0.1', {})).error?.code,
      'ERR_EGRESS_DENIED',
    )
  })

  test('resolver failures pass through unchanged', async () => {
    const failing = loopbackOnly.lookupFor(1, {
      resolve: async () => {
        throw Object.assign(new Error('getaddrinfo EAI_AGAIN x'), { code: 'EAI_AGAIN' })
      },
    }) as unknown as (...args: unknown[]) => void
    assert.equal((await call(failing, 'x', {})).error?.code, 'EAI_AGAIN')
  })
})

describe('lookupFor: with real node:net and node:dgram sockets', () => {
  async function tcpServer(): Promise<net.Server> {
    const server = net.createServer((socket) => socket.end('hi'))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return server
  }

  for (const autoSelectFamily of [true, false]) {
    test(`net.connect pins the passing address (autoSelectFamily: ${autoSelectFamily})`, async () => {
      const server = await tcpServer()
      try {
        const { port } = server.address() as net.AddressInfo
        const socket = net.connect({
          host: 'db.test',
          port,
          autoSelectFamily,
          lookup: loopbackOnly.lookupFor(port, { resolve }),
        })
        await once(socket, 'connect')
        assert.equal(socket.remoteAddress, '127.0.0.1')
        let text = ''
        for await (const chunk of socket) text += chunk
        assert.equal(text, 'hi')
      } finally {
        server.close()
        await once(server, 'close')
      }
    })

    test(`net.connect fails with ERR_EGRESS_DENIED (autoSelectFamily: ${autoSelectFamily})`, async () => {
      const socket = net.connect({
        host: 'lan.test',
        port: 5432,
        autoSelectFamily,
        lookup: loopbackOnly.lookupFor(5432, { resolve }),
      })
      let connected = false
      socket.on('connect', () => (connected = true))
      const [error] = (await once(socket, 'error').catch((e: unknown) => [e])) as [
        NodeJS.ErrnoException,
      ]
      assert.equal(error.code, 'ERR_EGRESS_DENIED')
      assert.match(error.message, /^Egress to "lan.test:5432" denied: /)
      assert.equal(connected, false)
    })
  }

  test('dgram: UDP is checked with check(), because dgram looks up its bind address too', async () => {
    const server = dgram.createSocket('udp4')
    server.bind(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address()
    // Why lookupFor is not dgram's `lookup`: the implicit bind asks it for 0.0.0.0.
    const guarded = dgram.createSocket({
      type: 'udp4',
      // dgram's type wants the single-address callback only; ours serves both forms.
      lookup: loopbackOnly.lookupFor(port, { resolve }) as never,
    })
    const client = dgram.createSocket('udp4')
    try {
      const failed = once(guarded, 'error')
      guarded.send('ping', port, '127.0.0.1')
      const [error] = (await failed) as [Error]
      assert.match(error.message, /^Egress to "0.0.0.0:\d+" denied/)
      const verdict = await loopbackOnly.check('db.test', port, { resolve })
      assert.deepEqual(verdict, { allowed: true, address: '127.0.0.1' })
      const received = once(server, 'message')
      client.send('ping', port, verdict.allowed ? verdict.address : '')
      const [message] = (await received) as [Buffer]
      assert.equal(message.toString(), 'ping')
    } finally {
      guarded.close()
      client.close()
      server.close()
    }
  })
})
