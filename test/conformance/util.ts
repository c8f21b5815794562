/**
 * Portable helpers for the conformance suite. Like the tests, this file uses
 * only the public API and web globals, so the suite runs unchanged on Node.js,
 * Deno and Bun.
 */
import assert from 'node:assert/strict'
import { connect, listen, type Socket, type SocketListener } from '@sockworker/sockets'

import { concat } from '../helpers/bytes.ts'
import { within } from '../helpers/timers.ts'

export { concat } from '../helpers/bytes.ts'
export { settlesWithin, within } from '../helpers/timers.ts'

/** Per-test options: a hang fails the test instead of stalling the run. */
export const limit = { timeout: 10_000 }

export const encoder = new TextEncoder()
export const decoder = new TextDecoder()

/** Resolves with the rejection reason of `promise`; fails if it resolves. */
export async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error(`Expected ${what} to reject, but it resolved`)
}

/** Reads a byte stream to its end. */
export async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = readable.getReader()
  const chunks: Uint8Array[] = []
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
    }
  } finally {
    reader.releaseLock()
  }
  return concat(chunks)
}

/** Reads exactly `length` bytes (fewer only if the stream ends first). */
export async function readBytes(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  length: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let received = 0
  while (received < length) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    received += value.byteLength
  }
  return concat(chunks)
}

/** Reads until `text.length` bytes arrived and decodes them. */
export async function readText(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  length: number,
): Promise<string> {
  return decoder.decode(await readBytes(reader, length))
}

/** A deterministic byte pattern, so that a receiver can check every byte at its offset. */
export function patternByte(offset: number): number {
  return (offset * 31 + (offset >>> 8) * 7 + 11) & 0xff
}

export function pattern(length: number, start = 0): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = patternByte(start + i)
  return out
}

/** Hands out the sockets a listener accepts, in order, through one iterator. */
export class Acceptor {
  readonly #iterator: AsyncIterator<Socket>
  /** Every socket handed out, so that the server's disposal can tear them down. */
  readonly accepted: Socket[] = []

  constructor(listener: SocketListener) {
    this.#iterator = listener[Symbol.asyncIterator]()
  }

  /** Waits at most `ms` (default 5 s); `Infinity` waits without a timer, until the listener closes. */
  async next(ms = 5000): Promise<Socket> {
    const next = this.#iterator.next()
    const result =
      ms === Number.POSITIVE_INFINITY
        ? await next
        : await within(next, ms, 'the listener to accept a socket')
    if (result.done) throw new Error('The listener ended before accepting a socket')
    this.accepted.push(result.value)
    return result.value
  }
}

export interface Server extends AsyncDisposable {
  listener: SocketListener
  port: number
  /** `"127.0.0.1:port"` */
  address: string
  accept: Acceptor
}

/**
 * A TCP listener on an ephemeral loopback port. `await using` closes it and
 * aborts every socket it accepted.
 */
export async function server(options: Parameters<typeof listen>[0] = {}): Promise<Server> {
  const listener = listen({ type: 'tcp', hostname: '127.0.0.1', port: 0, ...options })
  const { port } = await within(listener.opened, 5000, 'the listener to open')
  const accept = new Acceptor(listener)
  return {
    listener,
    port,
    address: `127.0.0.1:${port}`,
    accept,
    async [Symbol.asyncDispose]() {
      await dispose(...accept.accepted)
      await within(listener.close(), 5000, 'the listener to close')
    },
  }
}

/** A TCP echo server: every accepted socket's input is piped back to it. */
export async function echoServer(options: Parameters<typeof listen>[0] = {}): Promise<Server> {
  const s = await server(options)
  void (async () => {
    try {
      for (;;) {
        const socket = await s.accept.next(Number.POSITIVE_INFINITY)
        socket.readable.pipeTo(socket.writable).catch(() => {})
      }
    } catch {
      // The listener closed.
    }
  })()
  return s
}

/** Closes a socket and ignores the outcome: for cleanup in `finally`. */
export async function dispose(...sockets: Array<Socket | undefined>): Promise<void> {
  await Promise.all(
    sockets.map(async (socket) => {
      if (!socket) return
      socket.abort(new Error('test cleanup'))
      await socket.closed.catch(() => {})
    }),
  )
}

/**
 * Asserts that `fn` throws, synchronously, an instance of `type` whose message
 * contains every fragment (the bad value, the option's name).
 */
export function throwsMistake(
  fn: () => unknown,
  type: typeof TypeError | typeof RangeError,
  ...fragments: string[]
): void {
  let thrown: unknown
  let returned: unknown
  try {
    returned = fn()
  } catch (error) {
    thrown = error
  }
  if (thrown === undefined) {
    // Do not leave a socket or listener behind when the check fails.
    const leftover = returned as {
      abort?: (reason?: unknown) => void
      close?: () => unknown
      opened?: Promise<unknown>
      closed?: Promise<unknown>
    }
    leftover?.opened?.catch(() => {})
    leftover?.closed?.catch(() => {})
    if (typeof leftover?.abort === 'function') leftover.abort()
    else if (typeof leftover?.close === 'function')
      Promise.resolve(leftover.close()).catch(() => {})
    throw new Error(`Expected a synchronous ${type.name}, but nothing was thrown`)
  }
  if (!(thrown instanceof type)) {
    throw new Error(`Expected a ${type.name}, got ${String(thrown)}`, { cause: thrown })
  }
  for (const fragment of fragments) {
    if (!thrown.message.includes(fragment)) {
      throw new Error(
        `Expected the ${type.name} message ${JSON.stringify(thrown.message)} to contain ${JSON.stringify(fragment)}`,
      )
    }
  }
}

/**
 * Writes `text` on `from` and checks that `to` reads exactly it, then
 * releases both locks. The write and the read run together: a large write
 * may not finish until the reader drains it.
 */
export async function send(from: Socket, to: Socket, text: string): Promise<void> {
  const writer = from.writable.getWriter()
  const reader = to.readable.getReader()
  try {
    const [, received] = await within(
      Promise.all([writer.write(encoder.encode(text)), readText(reader, text.length)]),
      5000,
      `"${text.slice(0, 20)}" to arrive`,
    )
    assert.ok(received === text, `Expected "${text.slice(0, 40)}", got "${received.slice(0, 40)}"`)
  } finally {
    writer.releaseLock()
    reader.releaseLock()
  }
}

/** The runtime running the suite. */
export const runtime: 'node' | 'deno' | 'bun' =
  'Deno' in globalThis ? 'deno' : 'Bun' in globalThis ? 'bun' : 'node'

/**
 * What each runtime documents as `ERR_UNSUPPORTED` (the README's capability
 * table). A test of such a feature checks the documented error there instead.
 */
const unsupportedOn = {
  'server StartTLS': ['deno'],
  'TLS server SNI': ['deno', 'bun'],
  'UDP reusePort': ['bun'],
  /** Every runtime has a QUIC engine now: Node and Bun quiche, Deno its own (--unstable-net). */
  QUIC: [],
  /** Deno 2.9's QUIC streams end only with FIN: no RESET_STREAM, and STOP_SENDING always carries 0. */
  'QUIC stream reset': ['deno'],
  /** Deno 2.9's QUIC (quinn) keeps its own windows: 1.25 MB per stream. */
  'QUIC flow-control windows': ['deno'],
  /** Deno.QuicEndpoint binds its own socket and asks no client for a certificate. */
  'QUIC listener reusePort, requestCert': ['deno'],
  /** quiche's binding and Deno.QuicEndpoint take one certificate per listener. */
  'QUIC listener tls.sni': ['node', 'deno', 'bun'],
  'TLS client certificates on the server': ['deno'],
  'tls.verify: false': ['deno'],
  'keepAlive delay': ['deno'],
} as const satisfies Record<string, ReadonlyArray<typeof runtime>>

/** True when this runtime documents `feature` as unsupported. */
export function lacks(feature: keyof typeof unsupportedOn): boolean {
  return (unsupportedOn[feature] as ReadonlyArray<string>).includes(runtime)
}

/** What `info.tls` can tell beyond ALPN: Deno's handshake reports nothing else. */
export const reportsTlsDetails = runtime !== 'deno'

/** Asserts that `promise` rejects with `ERR_UNSUPPORTED` naming this runtime. */
export async function expectUnsupported(promise: Promise<unknown>, what: string): Promise<void> {
  const error = await within(rejection(promise, what), 5000, `${what} to reject`)
  assert.ok(
    error instanceof Error && (error as { code?: unknown }).code === 'ERR_UNSUPPORTED',
    `Expected ERR_UNSUPPORTED from ${what}, got ${String(error)}`,
  )
  const name = { node: 'Node', deno: 'Deno', bun: 'Bun' }[runtime]
  assert.ok(error.message.includes(name), `"${error.message}" should name ${name}`)
}

/** The plaintext part of an SMTP-like STARTTLS conversation, as the client and server. */
export async function negotiate(client: Socket, accepted: Socket): Promise<void> {
  await send(accepted, client, '220 ready\r\n')
  await send(client, accepted, 'STARTTLS\r\n')
  await send(accepted, client, '220 go ahead\r\n')
}

/**
 * Where the runtime has no server-side StartTLS (Deno), the accepted
 * socket's `startTls()` fails with the documented `ERR_UNSUPPORTED`.
 */
export async function serverStartTlsIsUnsupported(tls: { cert: string; key: string }) {
  await using srv = await server({ type: 'tcp', tls })
  const client = connect(srv.address, { secureTransport: 'starttls' })
  try {
    const accepted = await srv.accept.next()
    await negotiate(client, accepted)
    const serverTls = accepted.startTls()
    srv.accept.accepted.push(serverTls)
    await expectUnsupported(serverTls.opened, "the server side's startTls()")
  } finally {
    await dispose(client)
  }
}
