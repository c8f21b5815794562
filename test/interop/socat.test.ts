/**
 * Interop: `socat`, a relay nobody here wrote, as the TCP and UDP peer of our
 * clients and listeners. It shows that our byte streams, half-close and
 * datagram boundaries match what a conventional socket program sees.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { connect, type Datagram, listen, Socket } from '@sockworker/sockets'
import {
  Acceptor,
  decoder,
  dispose,
  encoder,
  pattern,
  readAll,
  within,
} from '../conformance/util.ts'
import { spawnPeer } from '../helpers/process.ts'
import { serve } from '../helpers/serve.ts'

/** `-d -d` makes socat log "listening on ... :port" once bound, and its other milestones. */
const VERBOSE = ['-d', '-d']
const LISTENING = /listening on .*:(\d+)\s*$/m
const TRANSFERRING = /starting data transfer loop/

/** The index of the first byte where `a` and `b` differ, or -1: keeps failures short. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : length
}

async function readDatagram(reader: ReadableStreamDefaultReader<Datagram>): Promise<Datagram> {
  const { done, value } = await within(reader.read(), 5000, 'a datagram')
  assert.ok(!done, 'the UDP readable ended early')
  return value
}

describe('socat', () => {
  test('TCP: our client streams through a socat echo and half-closes', async () => {
    const args = [...VERBOSE, 'TCP-LISTEN:0,bind=127.0.0.1,reuseaddr', 'EXEC:cat']
    await using peer = await spawnPeer('socat', args, { waitFor: LISTENING })
    const port = Number(peer.ready?.[1])
    // allowHalfOpen: our end of input (FIN) must not stop the echo coming back.
    const client = connect({ hostname: '127.0.0.1', port }, { allowHalfOpen: true })
    try {
      const payload = pattern(256 * 1024)
      const writer = client.writable.getWriter()
      const [echoed] = await within(
        Promise.all([readAll(client.readable), writer.write(payload).then(() => writer.close())]),
        10_000,
        'the echo of 256 KiB and its end',
      )
      assert.equal(echoed.length, payload.length)
      assert.equal(firstDifference(echoed, payload), -1, 'the echo differs from what we sent')
      await within(client.closed, 5000, 'the client to close')
      assert.equal((await peer.waitExit()).code, 0, peer.output)
    } finally {
      await dispose(client)
    }
  })

  test('TCP: socat as a client of our listener', async () => {
    await using srv = await serve({ type: 'tcp' })
    const args = [...VERBOSE, 'STDIO', `TCP:127.0.0.1:${srv.port}`]
    await using peer = await spawnPeer('socat', args, { waitFor: TRANSFERRING, stdin: 'pipe' })
    const accepted = await srv.accept.next()
    try {
      peer.stdin?.write('hello from socat\n')
      const writer = accepted.writable.getWriter()
      await within(writer.write(encoder.encode('hello from sockworker\n')), 5000, 'our write')
      writer.releaseLock()
      await peer.waitFor('hello from sockworker')

      // socat's stdin EOF becomes a FIN: our readable ends, and without
      // allowHalfOpen our side closes too.
      peer.stdin?.end()
      const received = decoder.decode(await within(readAll(accepted.readable), 5000, 'EOF'))
      assert.equal(received, 'hello from socat\n')
      await within(accepted.closed, 5000, 'the accepted socket to close')
      assert.equal((await peer.waitExit()).code, 0, peer.output)
    } finally {
      await dispose(accepted)
    }
  })

  test('UDP: our connected socket and a socat echo keep datagram boundaries', async () => {
    const args = [...VERBOSE, 'UDP-LISTEN:0,bind=127.0.0.1', 'PIPE']
    await using peer = await spawnPeer('socat', args, { waitFor: LISTENING })
    const port = Number(peer.ready?.[1])
    const client = new Socket({ type: 'udp', remote: { address: '127.0.0.1', port } })
    const writer = client.writable.getWriter()
    const reader = client.readable.getReader() as ReadableStreamDefaultReader<Datagram>
    try {
      const info = await within(client.opened, 5000, 'the UDP socket to open')
      assert.equal(info.remotePort, port)
      // Lock-step: socat's pipe would merge datagrams sent back to back.
      for (const message of [encoder.encode('ping 1'), encoder.encode('ping 2'), pattern(1200)]) {
        await within(writer.write(message), 5000, 'a datagram to be sent')
        const echo = await readDatagram(reader)
        assert.equal(echo.remoteAddress, '127.0.0.1')
        assert.equal(echo.remotePort, port)
        assert.equal(echo.data.length, message.length)
        assert.equal(firstDifference(echo.data, message), -1, 'the echo differs')
      }
    } finally {
      writer.releaseLock()
      reader.releaseLock()
      await dispose(client)
    }
  })

  test('UDP: socat as a client of our listener is one flow', async () => {
    const listener = listen({ type: 'udp', hostname: '127.0.0.1', port: 0 })
    const flows = new Acceptor(listener)
    let flow: Socket | undefined
    try {
      const { port } = await within(listener.opened, 5000, 'the UDP listener to open')
      const args = [...VERBOSE, 'STDIO', `UDP:127.0.0.1:${port}`]
      await using peer = await spawnPeer('socat', args, { waitFor: TRANSFERRING, stdin: 'pipe' })
      peer.stdin?.write('hello udp\n')
      flow = await flows.next()
      const reader = flow.readable.getReader() as ReadableStreamDefaultReader<Datagram>
      const writer = flow.writable.getWriter()
      const first = await readDatagram(reader)
      assert.equal(decoder.decode(first.data), 'hello udp\n')
      assert.equal(first.remoteAddress, '127.0.0.1')
      await within(writer.write(encoder.encode('reply 1\n')), 5000, 'a bare-bytes reply')
      await peer.waitFor('reply 1')

      // The same peer address and port: the same flow, not a new socket.
      peer.stdin?.write('second\n')
      const second = await readDatagram(reader)
      assert.equal(decoder.decode(second.data), 'second\n')
      assert.equal(second.remotePort, first.remotePort)
      await within(writer.write({ data: encoder.encode('reply 2\n') }), 5000, 'a {data} reply')
      await peer.waitFor('reply 2')
      reader.releaseLock()
      writer.releaseLock()
    } finally {
      await dispose(flow)
      await within(listener.close(), 5000, 'the UDP listener to close')
    }
  })
})
