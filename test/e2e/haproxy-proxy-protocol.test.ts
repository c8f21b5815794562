/**
 * Interop: HAProxy, a balancer nobody here wrote, sends PROXY protocol v1
 * (`send-proxy`) and v2 (`send-proxy-v2`, with CRC32C and unique-id TLVs) to
 * small node:net servers that parse the header with our parser and answer
 * with what it says. A client connecting through HAProxy from a known address
 * and port must read back exactly that address and port.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import {
  type ProxyHeader,
  type ProxyVersion,
  parseProxyHeader,
} from '../../packages/sockworker/src/proxy-protocol/parse.ts'
import { waitForHaproxy } from '../helpers/haproxy.ts'
import { freePort } from '../helpers/ports.ts'
import { type Peer, spawnPeer } from '../helpers/process.ts'
import { within } from '../helpers/timers.ts'

const TLV_UNIQUE_ID = 0x05
const TLV_CRC32C = 0x03
/** A client address other than HAProxy's own 127.0.0.1, so a match cannot be an accident. */
const CLIENT_V4 = '127.0.0.2'

/** Whether this host can bind ::1 (some containers have no IPv6). */
async function hasIPv6(): Promise<boolean> {
  const server = createServer()
  try {
    server.listen(0, '::1')
    await once(server, 'listening')
    return true
  } catch {
    return false
  } finally {
    server.close()
  }
}

/** A node:net server that requires a PROXY header, records it, answers with it, then echoes. */
class Backend {
  readonly headers: ProxyHeader[] = []
  readonly rejections: string[] = []
  readonly server: Server
  #changed = () => {}

  constructor(accept: ProxyVersion) {
    this.server = createServer((socket) => this.#handle(socket, accept))
  }

  get port(): number {
    const address = this.server.address()
    assert.ok(address !== null && typeof address === 'object')
    return address.port
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    return this
  }

  /** Resolves with what `find` returns once it is defined, re-checking as records arrive (bounded). */
  async waitFor<T>(find: () => T | undefined, what: string, timeout = 10_000): Promise<T> {
    const deadline = Date.now() + timeout
    for (;;) {
      const found = find()
      if (found !== undefined) return found
      const { promise, resolve } = Promise.withResolvers<void>()
      this.#changed = resolve
      await within(promise, Math.max(0, deadline - Date.now()), what)
    }
  }

  #handle(socket: Socket, accept: ProxyVersion): void {
    socket.on('error', () => {}) // HAProxy's readiness probes and checks hang up abruptly.
    let buffered = new Uint8Array(0)
    const onData = (chunk: Buffer) => {
      buffered = new Uint8Array([...buffered, ...chunk])
      const result = parseProxyHeader(buffered, accept)
      if (result.status === 'incomplete') return
      socket.off('data', onData)
      if (result.status === 'invalid') {
        this.rejections.push(result.reason)
        this.#changed()
        socket.destroy()
        return
      }
      this.headers.push(result.header)
      this.#changed()
      socket.write(`${JSON.stringify(summary(result.header))}\n`)
      socket.write(buffered.subarray(result.consumed))
      socket.on('data', (more) => socket.write(more))
    }
    socket.on('data', onData)
  }
}

/** The header as JSON, with TLV values as latin1 text (the unique id is ASCII). */
function summary(header: ProxyHeader): Record<string, unknown> {
  const tlvs = header.tlvs?.map(({ type, value }) => ({
    type,
    value: Buffer.from(value).toString('latin1'),
  }))
  return { ...header, tlvs }
}

interface Reply {
  local: { address: string; port: number }
  header: Record<string, unknown> & { tlvs?: Array<{ type: number; value: string }> }
  echo: string
}

/** Connects through HAProxy, sends a line, and reads the backend's header line and echo. */
async function through(host: string, port: number, localAddress: string): Promise<Reply> {
  const payload = `hello from ${localAddress}\n`
  const socket = connect({ host, port, localAddress })
  try {
    await within(once(socket, 'connect'), 5000, `a connection to ${host}:${port}`)
    const local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 }
    socket.write(payload)
    let text = ''
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      text += chunk
      const newline = text.indexOf('\n')
      if (newline >= 0 && text.length - newline - 1 >= payload.length) resolve()
    })
    socket.once('close', () =>
      reject(new Error(`The connection closed after ${JSON.stringify(text)}`)),
    )
    socket.once('error', reject)
    await within(promise, 5000, `the backend's reply through ${host}:${port}`)
    const newline = text.indexOf('\n')
    return { local, header: JSON.parse(text.slice(0, newline)), echo: text.slice(newline + 1) }
  } finally {
    socket.destroy()
  }
}

interface Ports {
  v2: number
  v1: number
  mismatch: number
  /** 0 without IPv6. */
  v2six: number
  v1six: number
}

/** The HAProxy configuration: one frontend per case, plus health-check-only backends. */
function haproxyConfig(ports: Ports, v2: Backend, v1: Backend): string {
  const six = (port: number) => (port === 0 ? '' : `  bind [::1]:${port}\n`)
  return `global
  log stderr format raw local0 info
  nbthread 1
defaults
  mode tcp
  log global
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe_v2
  bind 127.0.0.1:${ports.v2}
${six(ports.v2six)}  unique-id-format conn-%ci-%cp
  default_backend be_v2
backend be_v2
  server s1 127.0.0.1:${v2.port} send-proxy-v2 proxy-v2-options crc32c,unique-id
frontend fe_v1
  bind 127.0.0.1:${ports.v1}
${six(ports.v1six)}  default_backend be_v1
backend be_v1
  server s1 127.0.0.1:${v1.port} send-proxy
frontend fe_mismatch
  bind 127.0.0.1:${ports.mismatch}
  default_backend be_mismatch
backend be_mismatch
  server s1 127.0.0.1:${v2.port} send-proxy
backend be_checks_v2
  timeout check 5s
  option tcp-check
  tcp-check expect rstring "command"
  server s1 127.0.0.1:${v2.port} send-proxy-v2 check check-send-proxy inter 100ms
backend be_checks_v1
  timeout check 5s
  option tcp-check
  tcp-check expect rstring "command"
  server s1 127.0.0.1:${v1.port} send-proxy check check-send-proxy inter 100ms
`
}

/** Picks ports (HAProxy cannot bind 0 and report it; the tiny race is accepted) and starts HAProxy. */
async function startHaproxy(v2: Backend, v1: Backend, dir: string): Promise<[Peer, Ports]> {
  const ipv6 = await hasIPv6()
  const ports: Ports = {
    v2: await freePort(),
    v1: await freePort(),
    mismatch: await freePort(),
    v2six: ipv6 ? await freePort('tcp', '::1') : 0,
    v1six: ipv6 ? await freePort('tcp', '::1') : 0,
  }
  const file = join(dir, 'haproxy.cfg')
  await writeFile(file, haproxyConfig(ports, v2, v1))
  const haproxy = await spawnPeer('haproxy', ['-db', '-f', file])
  for (const port of [ports.v2, ports.v1, ports.mismatch]) {
    await waitForHaproxy(haproxy, port)
  }
  for (const port of [ports.v2six, ports.v1six]) {
    if (port !== 0) await waitForHaproxy(haproxy, port, '::1')
  }
  return [haproxy, ports]
}

// Set up in the async suite body, not in a `before` hook: `spawnPeer` registers
// its kill with `after()`, which inside a `before` hook would stop HAProxy as
// soon as that hook returned.
// A missing haproxy fails here rather than skipping: CI must install it
// (scripts/debian-packages.txt), and a silent skip would hide that it did not.
assert.equal(spawnSync('haproxy', ['-v']).status, 0, 'haproxy is not installed: run npm run setup')
describe('HAProxy in front of the PROXY protocol parser', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-haproxy-'))
  const v2 = await new Backend('v2').start()
  const v1 = await new Backend('v1').start()
  after(async () => {
    v1.server.close()
    v2.server.close()
    await rm(dir, { recursive: true, force: true })
  })
  const [haproxy, ports] = await startHaproxy(v2, v1, dir)

  test('send-proxy-v2: the real client address and port, TLVs, and the payload', async () => {
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => through('127.0.0.1', ports.v2, CLIENT_V4)),
    )
    for (const { local, header, echo } of replies) {
      assert.equal(local.address, CLIENT_V4)
      assert.deepEqual(
        { ...header, tlvs: undefined },
        {
          version: 2,
          command: 'proxy',
          protocol: 'tcp4',
          sourceAddress: CLIENT_V4,
          sourcePort: local.port,
          destinationAddress: '127.0.0.1',
          destinationPort: ports.v2,
          tlvs: undefined,
        },
        haproxy.output,
      )
      const uniqueId = header.tlvs?.find((tlv) => tlv.type === TLV_UNIQUE_ID)
      assert.equal(uniqueId?.value, `conn-${CLIENT_V4}-${local.port}`)
      // The parser verified it, or the backend would have refused the connection.
      assert.ok(header.tlvs?.some((tlv) => tlv.type === TLV_CRC32C))
      assert.equal(echo, `hello from ${CLIENT_V4}\n`)
    }
    assert.deepEqual(
      v2.rejections.filter((r) => !r.includes('v1 header')),
      [],
    )
  })

  test('send-proxy (v1): the real client address and port, and the payload', async () => {
    const { local, header, echo } = await through('127.0.0.1', ports.v1, CLIENT_V4)
    assert.deepEqual(header, {
      version: 1,
      command: 'proxy',
      protocol: 'tcp4',
      sourceAddress: CLIENT_V4,
      sourcePort: local.port,
      destinationAddress: '127.0.0.1',
      destinationPort: ports.v1,
    })
    assert.equal(echo, `hello from ${CLIENT_V4}\n`)
  })

  test('IPv6 clients arrive as tcp6 in both versions', async (t) => {
    if (ports.v2six === 0) return t.skip('no IPv6 loopback here')
    for (const [version, port] of [
      [2, ports.v2six],
      [1, ports.v1six],
    ] as const) {
      const { local, header } = await through('::1', port, '::1')
      assert.equal(header['version'], version)
      assert.equal(header['protocol'], 'tcp6')
      assert.equal(header['sourceAddress'], '::1')
      assert.equal(header['sourcePort'], local.port)
      assert.equal(header['destinationAddress'], '::1')
      assert.equal(header['destinationPort'], port)
    }
  })

  test('health checks: v2 sends LOCAL; v1 sends its own endpoints, as the spec recommends', async () => {
    // `tcp-check expect` waits for the backend's reply, so each check is a
    // round trip through our parser, not a connect-and-reset.
    const local = await v2.waitFor(
      () => v2.headers.find((header) => header.command === 'local'),
      'a v2 LOCAL health check',
    )
    assert.deepEqual(local, { version: 2, command: 'local', protocol: 'unknown', tlvs: [] })
    // Spec 2.1: a v1 sender fills health checks from getsockname()/getpeername(),
    // so the destination is the backend itself rather than a frontend.
    const check = await v1.waitFor(
      () => v1.headers.find((header) => header.destinationPort === v1.port),
      'a v1 health check',
    )
    assert.equal(check.protocol, 'tcp4')
    assert.equal(check.sourceAddress, '127.0.0.1')
    assert.equal(check.destinationAddress, '127.0.0.1')
  })

  test('a v1 header sent to a v2-only backend is refused and the connection closed', async () => {
    // The readiness probes were refused the same way; look past them.
    const seen = v2.rejections.length
    await assert.rejects(
      through('127.0.0.1', ports.mismatch, CLIENT_V4),
      /The connection closed after ""/,
    )
    const reason = await v2.waitFor(
      () => v2.rejections.slice(seen).find((r) => r.includes('v1 header')),
      'the v2 backend to refuse a v1 header',
    )
    assert.equal(reason, 'got a PROXY protocol v1 header, but this listener accepts v2 only')
  })
})
