/**
 * End to end: a QUIC listener under `sockworker serve` reloads and drains
 * as a TCP one does. Connections open before a SIGHUP carry on with their
 * transfers on the old replicas while new connections reach the new
 * version; SIGTERM lets an open transfer finish; at the drain deadline the
 * server closes what is left with a close code instead of going silent.
 *
 * Each client is a real QUIC connection from its own UDP port. Replicas
 * share the port with SO_REUSEPORT, and a reload changes the set of
 * sockets the kernel hashes packets over: before each accepted connection
 * got a connected socket of its own, most held connections lost their
 * packets to the new replicas and timed out.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type QuicConnection, Socket } from '@sockworker/sockets'
import { concat, decoder, pattern, patternByte, within } from '../conformance/util.ts'
import { makeCerts } from '../helpers/certs.ts'
import { jsonLog, type Served, serveProject } from './support/harness.ts'

const certs = await makeCerts()

/** Each stream starts with the worker's version line, then echoes. */
const v1 = `
const version = 'v1'
export default {
  async connect(socket) {
    for await (const stream of socket.incomingBidirectionalStreams) {
      void (async () => {
        const writer = stream.writable.getWriter()
        await writer.write(new TextEncoder().encode(version + '\\n'))
        writer.releaseLock()
        await stream.readable.pipeTo(stream.writable)
      })().catch(() => {})
    }
  },
}
`
const v2 = v1.replace("const version = 'v1'", "const version = 'v2'")

function project(drainMs: number): Record<string, string> {
  const toml = `${jsonLog}
[[workers]]
name = "q"
script = "worker.js"
replicas = 2

[workers.limits]
drain_timeout_ms = ${drainMs}

[[workers.listeners]]
type = "quic"
address = "127.0.0.1:0"
cert = "server.crt"
key = "server.key"
alpn = ["echo"]
`
  return {
    'sockworker.toml': toml,
    'worker.js': v1,
    'server.crt': certs.server.cert,
    'server.key': certs.server.key,
  }
}

/** One client connection with one stream, echoing a known pattern. */
class Transfer {
  readonly quic: QuicConnection
  readonly seed: number
  #writer!: WritableStreamDefaultWriter<ArrayBufferView | ArrayBuffer>
  #reader!: ReadableStreamDefaultReader<Uint8Array>
  #sent = 0
  #received = 0

  constructor(port: number, seed: number) {
    this.seed = seed
    this.quic = new Socket({
      type: 'quic',
      remote: { address: '127.0.0.1', port },
      alpn: ['echo'],
      tls: { ca: certs.ca },
    }) as QuicConnection
  }

  /** Opens the stream; resolves with the version line. */
  async open(): Promise<string> {
    await within(this.quic.opened, 15_000, `client ${this.seed} to connect`)
    const stream = await this.quic.createBidirectionalStream()
    this.#writer = stream.writable.getWriter()
    this.#reader = stream.readable.getReader()
    // A stream exists for the peer once it carries bytes.
    await this.#writer.write(pattern(1, this.seed))
    this.#sent = 1
    let head: Uint8Array = new Uint8Array(0)
    while (!head.includes(10)) {
      const { done, value } = await within(this.#reader.read(), 15_000, 'the version line')
      if (done) throw new Error('The stream ended before the version line')
      head = concat([head, value])
    }
    const end = head.indexOf(10)
    this.#check(head.subarray(end + 1))
    return decoder.decode(head.subarray(0, end))
  }

  /** Sends `bytes` more of the pattern while reading their echo (an echo peer needs both). */
  async exchange(bytes: number): Promise<void> {
    const target = this.#sent + bytes
    const reading = (async () => {
      while (this.#received < target) {
        const { done, value } = await within(
          this.#reader.read(),
          20_000,
          `client ${this.seed} echo`,
        )
        if (done) throw new Error(`Client ${this.seed}: the echo ended early`)
        this.#check(value)
      }
    })()
    const chunk = 16 * 1024
    while (this.#sent < target) {
      const size = Math.min(chunk, target - this.#sent)
      await this.#writer.write(pattern(size, this.seed + this.#sent))
      this.#sent += size
    }
    await reading
  }

  async finish(): Promise<void> {
    await this.#writer.close()
    const { done } = await within(this.#reader.read(), 10_000, 'the end of the echo')
    assert.ok(done, `client ${this.seed}: nothing after the echo`)
    await this.quic.close({ closeCode: 0, reason: 'done' })
  }

  #check(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.byteLength; i++) {
      if (bytes[i] !== patternByte(this.seed + this.#received + i)) {
        throw new Error(`Client ${this.seed}: echoed byte ${this.#received + i} differs`)
      }
    }
    this.#received += bytes.byteLength
  }
}

/** A fresh connection's version line. */
async function versionOf(port: number): Promise<string> {
  const probe = new Transfer(port, 1000)
  try {
    return await probe.open()
  } finally {
    probe.quic.abort(new Error('probe done'))
  }
}

async function reload(served: Served, version: string): Promise<number> {
  await served.write('worker.js', version)
  const from = served.logs().length
  served.cli.child.kill('SIGHUP')
  return from
}

test('SIGHUP: transfers on open QUIC connections carry on across the reload; new connections get v2', {
  timeout: 120_000,
}, async (t) => {
  await using served = await serveProject(project(30_000), 1)
  const [port = 0] = served.ports
  // Several clients, each from its own port, so that the kernel hashes some
  // of them to sockets whose order a reload changes.
  const held = Array.from({ length: 6 }, (_, n) => new Transfer(port, n * 7919))
  for (const transfer of held) assert.equal(await transfer.open(), 'v1')
  await Promise.all(held.map((transfer) => transfer.exchange(256 * 1024)))

  const from = await reload(served, v2)
  const deadline = Date.now() + 20_000
  while ((await versionOf(port)) !== 'v2') {
    assert.ok(Date.now() < deadline, 'New connections did not get v2 within 20 s')
  }
  const isReloaded = (e: { msg?: string }) => e.msg === 'reloaded'
  assert.ok(!served.logs().slice(from).some(isReloaded), 'the old generation is still draining')

  // The new replicas' sockets are in the port's group now: every held connection moves bytes.
  await Promise.all(held.map((transfer) => transfer.exchange(512 * 1024)))
  await Promise.all(held.map((transfer) => transfer.finish()))
  // Their handlers return as the clients close, and the old generation has drained.
  await served.waitForLog(isReloaded, { from, timeoutMs: 15_000 })
  t.diagnostic(`${held.length} connections × 768 KiB echoed across the reload`)
})

test('SIGTERM: an open QUIC transfer finishes, then the process exits 0', {
  timeout: 90_000,
}, async () => {
  await using served = await serveProject(project(30_000), 1)
  const [port = 0] = served.ports
  const transfer = new Transfer(port, 17)
  assert.equal(await transfer.open(), 'v1')
  await transfer.exchange(128 * 1024)
  served.cli.child.kill('SIGTERM')
  await served.waitForLog((e) => e.msg === 'SIGTERM: draining')
  await transfer.exchange(512 * 1024)
  await transfer.finish()
  assert.equal(await within(served.cli.exited, 20_000, 'the CLI to exit'), 0)
})

test('at the drain deadline, connections still open are closed with a reason, not left to time out', {
  timeout: 90_000,
}, async () => {
  await using served = await serveProject(project(1000), 1)
  const [port = 0] = served.ports
  const transfer = new Transfer(port, 29)
  assert.equal(await transfer.open(), 'v1')
  served.cli.child.kill('SIGTERM')
  // The idle timeout is 30 s: a close within 15 s is the server's.
  const info = await within(transfer.quic.closeInfo, 15_000, 'the server to close')
  assert.deepEqual(info, { closeCode: 0, reason: 'the server is shutting down' })
  assert.equal(await within(served.cli.exited, 20_000, 'the CLI to exit'), 0)
})
