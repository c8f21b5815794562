/**
 * Portable helpers for the QUIC conformance tests: a listener on loopback
 * with the test certificates, a client for it, and an echo peer. Public
 * API only, like the rest of the suite.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  listen,
  type QuicConnection,
  type QuicListenOptions,
  type QuicSocketInit,
  Socket,
  type SocketListener,
} from '@sockworker/sockets'
import { type CertSet, makeCerts } from '../helpers/certs.ts'
import { lacks, readAll, runtime, within } from './util.ts'

/**
 * `describe(name, body)` where the runtime has QUIC. Where it documents
 * QUIC as unsupported (the README's capability table), one test in its
 * place checks that error instead, so the suite still runs unchanged there.
 */
export function describeQuic(name: string, body: () => void): void {
  if (!lacks('QUIC')) return void describe(name, body)
  test(`${name}: QUIC is ERR_UNSUPPORTED on this runtime, and says so`, () => {
    const remote = { address: '127.0.0.1', port: 4433 }
    for (const open of [
      () => listen({ type: 'quic', port: 0, tls: { cert: '', key: '', alpn: [alpn] } }),
      () => new Socket({ type: 'quic', remote, tls: { alpn: [alpn] } }),
    ]) {
      assert.throws(open, (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_UNSUPPORTED')
        assert.match(error.message, new RegExp(`^${runtime} does not support QUIC`, 'i'))
        return true
      })
    }
  })
}

export const alpn = 'sockworker-test'

export interface QuicServer extends AsyncDisposable {
  listener: SocketListener
  port: number
  /** The next connection the listener yields. */
  next(ms?: number): Promise<QuicConnection>
  accepted: QuicConnection[]
}

export async function quicServer(options: Partial<QuicListenOptions> = {}): Promise<QuicServer> {
  const certs = await makeCerts()
  const listener = listen({
    type: 'quic',
    hostname: '127.0.0.1',
    port: 0,
    ...options,
    tls: { ...certs.server, alpn: [alpn], ...options.tls },
  })
  const { port } = await within(listener.opened, 5000, 'the QUIC listener to open')
  const iterator = listener[Symbol.asyncIterator]()
  const accepted: QuicConnection[] = []
  return {
    listener,
    port,
    accepted,
    async next(ms = 5000) {
      const result = await within(iterator.next(), ms, 'a QUIC connection')
      if (result.done) throw new Error('The QUIC listener ended')
      const connection = result.value as QuicConnection
      accepted.push(connection)
      return connection
    },
    async [Symbol.asyncDispose]() {
      for (const connection of accepted) connection.abort(new Error('test cleanup'))
      await within(listener.close(), 5000, 'the QUIC listener to close')
    },
  }
}

/** A client for `port`, trusting the test CA. */
export async function quicClient(
  port: number,
  options: Partial<QuicSocketInit> = {},
): Promise<QuicConnection & AsyncDisposable> {
  const certs: CertSet = await makeCerts()
  return new Socket({
    type: 'quic',
    remote: { address: '127.0.0.1', port },
    alpn: [alpn],
    ...options,
    tls: { ca: certs.ca, ...options.tls },
  }) as QuicConnection
}

/** Echoes every bidirectional stream, every datagram, and each uni stream back on a new uni stream. */
export function echo(connection: QuicConnection): void {
  void (async () => {
    for await (const stream of connection.incomingBidirectionalStreams) {
      stream.readable.pipeTo(stream.writable).catch(() => {})
    }
  })().catch(() => {})
  void (async () => {
    for await (const readable of connection.incomingUnidirectionalStreams) {
      void (async () => {
        const bytes = await readAll(readable)
        const writable = await connection.createUnidirectionalStream()
        const writer = writable.getWriter()
        await writer.write(bytes)
        await writer.close()
      })().catch(() => {})
    }
  })().catch(() => {})
  void connection.datagrams.readable.pipeTo(connection.datagrams.createWritable()).catch(() => {})
}
