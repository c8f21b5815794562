/**
 * Code written for `connect()` from `cloudflare:sockets` works unchanged. The
 * client code below follows pg-cloudflare and postgres.js's cf build line by
 * line: `writer.ready` means "connected", reads loop until `done`, `closed`
 * means "the connection is gone", and during StartTLS the old socket's
 * `closed` resolves (it must not reject) while the new socket takes over.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, listen, type Socket } from '@sockworker/sockets'
import { makeCerts } from '../helpers/certs.ts'
import {
  Acceptor,
  decoder,
  dispose,
  encoder,
  lacks,
  limit,
  readText,
  server,
  serverStartTlsIsUnsupported,
  within,
} from './util.ts'

test(
  'pg-cloudflare: connect, await writer.ready, read until done, closed.then',
  limit,
  async () => {
    await using s = await server()
    const host = '127.0.0.1'
    const port = s.port
    const events: string[] = []
    const received: string[] = []

    // --- driver code, as in pg-cloudflare ---
    const options = {}
    const cfSocket = connect(`${host}:${port}`, options)
    const cfWriter = cfSocket.writable.getWriter()
    const closedHandled = cfSocket.closed
      .then(() => {
        events.push('close')
      })
      .catch((e: unknown) => {
        events.push(`error: ${String(e)}`)
      })
    const cfReader = cfSocket.readable.getReader()
    const listening = (async () => {
      while (true) {
        const { done, value } = await cfReader.read()
        if (done) break
        received.push(decoder.decode(value))
      }
    })().catch((e: unknown) => events.push(`error: ${String(e)}`))
    await within(cfWriter.ready, 5000, 'writer.ready')
    events.push('connect')
    cfWriter.write(encoder.encode('SELECT 1;'))
    // --- end of driver code ---

    try {
      const accepted = await s.accept.next()
      assert.equal(await readText(accepted.readable.getReader(), 9), 'SELECT 1;')
      const peerWriter = accepted.writable.getWriter()
      await peerWriter.write(encoder.encode('ROW 1;'))
      await peerWriter.write(encoder.encode('DONE;'))
      await accepted.close() // the server ends the session

      await within(listening, 5000, 'the read loop to see done')
      await within(closedHandled, 5000, 'closed to settle')
      assert.equal(received.join(''), 'ROW 1;DONE;')
      assert.deepEqual(events, ['connect', 'close'])
    } finally {
      await dispose(cfSocket)
    }
  },
)

test('pg-cloudflare end(): a last write, then close(), delivers every byte', limit, async () => {
  await using s = await server()
  const cfSocket = connect(`127.0.0.1:${s.port}`, {})
  try {
    const cfWriter = cfSocket.writable.getWriter()
    await within(cfWriter.ready, 5000, 'writer.ready')
    // end(data): write, and close the socket in the write's callback.
    const closing = new Promise<void>((resolve) => {
      cfWriter.write(encoder.encode('Terminate')).then(() => {
        cfSocket.close()
        resolve()
      })
    })
    const accepted = await s.accept.next()
    const reader = accepted.readable.getReader()
    assert.equal(await readText(reader, 9), 'Terminate')
    await within(closing, 5000, 'the last write')
    assert.equal((await within(reader.read(), 5000, 'end of stream')).done, true)
    await within(cfSocket.closed, 5000, 'closed')
  } finally {
    await dispose(cfSocket)
  }
})

test(
  'postgres.js cf: writer.ready.then, the comma-expression read loop, closed',
  limit,
  async () => {
    await using s = await server()
    const tcp = { readyState: 'opening', data: [] as string[], closed: false }

    // --- driver code, as in postgres.js's cf polyfills ---
    const raw = connect(`localhost:${s.port}`, {})
    const rawClosed = raw.closed.then(
      () => {
        tcp.closed = true
      },
      () => {},
    )
    const writer = raw.writable.getWriter()
    const reader = raw.readable.getReader()
    const read = (async () => {
      let done: boolean
      let value: Uint8Array | undefined
      // biome-ignore lint/complexity/noCommaOperator: postgres.js's loop, kept as written
      while ((({ done, value } = await reader.read()), !done)) tcp.data.push(decoder.decode(value))
    })()
    const ready = writer.ready.then(() => {
      tcp.readyState = 'open'
    })
    // --- end of driver code ---

    try {
      await within(ready, 5000, 'writer.ready')
      assert.equal(tcp.readyState, 'open')
      await writer.write(encoder.encode('Q'))
      const accepted = await s.accept.next()
      assert.equal(await readText(accepted.readable.getReader(), 1), 'Q')
      await accepted.writable.getWriter().write(encoder.encode('Z'))
      await accepted.close()
      await within(read, 5000, 'the read loop')
      await within(rawClosed, 5000, 'closed')
      assert.deepEqual(tcp.data, ['Z'])
      assert.equal(tcp.closed, true)
    } finally {
      await dispose(raw)
    }
  },
)

test(
  'pg-cloudflare StartTLS: the old closed resolves, the new socket speaks TLS',
  limit,
  async () => {
    const certs = await makeCerts()
    if (lacks('server StartTLS')) return serverStartTlsIsUnsupported(certs.server)
    const listener = listen({ type: 'tcp', hostname: '127.0.0.1', port: 0, tls: certs.server })
    const { port } = await within(listener.opened, 5000, 'the listener')
    const acceptor = new Acceptor(listener)
    let secureServer: Socket | undefined

    // The server side, like a database answering an SSLRequest with 'S'.
    const serving = (async () => {
      const plain = await acceptor.next()
      assert.equal(await readText(plain.readable.getReader(), 8), 'SSLQUERY')
      const plainWriter = plain.writable.getWriter()
      await plainWriter.write(encoder.encode('S'))
      plainWriter.releaseLock()
      secureServer = plain.startTls()
      const reader = secureServer.readable.getReader()
      assert.equal(await readText(reader, 7), 'STARTUP')
      await secureServer.writable.getWriter().write(encoder.encode('AUTH OK'))
      await within(plain.closed, 5000, 'the server plain socket closed to resolve')
    })()
    serving.catch(() => {}) // awaited below; this only keeps an early failure from going unhandled

    // --- driver code, as in pg-cloudflare (ssl: true) ---
    const state = { upgrading: false, upgraded: false, events: [] as string[] }
    const addClosedHandler = (socket: Socket) =>
      socket.closed
        .then(() => {
          if (!state.upgrading) state.events.push('close')
          else {
            state.upgrading = false
            state.upgraded = true
          }
        })
        .catch((e: unknown) => state.events.push(`error: ${String(e)}`))
    let cfSocket = connect(`localhost:${port}`, {
      secureTransport: 'starttls',
      tls: { ca: certs.ca },
    })
    const plainSocket = cfSocket
    let cfWriter = cfSocket.writable.getWriter()
    const oldClosed = addClosedHandler(cfSocket)
    let cfReader = cfSocket.readable.getReader()
    const first = cfReader.read() // _listenOnce()
    await within(cfWriter.ready, 5000, 'writer.ready')
    cfWriter.write(encoder.encode('SSLQUERY'))
    const { value } = await within(first, 5000, 'the SSL answer')
    assert.equal(decoder.decode(value), 'S')

    // startTls(options): pg passes its own TLS options object through; extra keys are ignored.
    // (Our type has no `servername`, so TypeScript needs the cast; the runtime must not care.)
    const pgOptions = { servername: 'localhost' } as unknown as Parameters<Socket['startTls']>[0]
    cfWriter.releaseLock()
    cfReader.releaseLock()
    state.upgrading = true
    cfSocket = cfSocket.startTls(pgOptions)
    cfWriter = cfSocket.writable.getWriter()
    cfReader = cfSocket.readable.getReader()
    const newClosed = addClosedHandler(cfSocket)
    // --- end of driver code ---

    try {
      await within(oldClosed, 5000, 'the old closed to resolve during startTls')
      assert.deepEqual(state.events, [], 'the old closed must resolve, not reject or close')
      assert.equal(state.upgraded, true)
      assert.equal(plainSocket.upgraded, true)
      assert.equal(plainSocket.secureTransport, 'starttls')

      await within(cfWriter.ready, 5000, 'the TLS writer.ready')
      cfWriter.write(encoder.encode('STARTUP'))
      assert.equal(await readText(cfReader, 7), 'AUTH OK')
      const info = await cfSocket.opened
      assert.ok(info.tls, 'the new socket reports TLS details')
      assert.match(info.tls.protocol, /^TLSv1\.[23]$/)
      assert.equal(info.tls.authorized, true)
      await within(serving, 5000, 'the server side')

      await cfSocket.close()
      await within(newClosed, 5000, 'the new closed')
      assert.deepEqual(state.events, ['close'])
    } finally {
      await dispose(cfSocket, plainSocket, secureServer, ...acceptor.accepted)
      await listener.close()
    }
  },
)
