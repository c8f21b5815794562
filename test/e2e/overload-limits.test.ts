/**
 * End to end: the limits that keep slow and silent clients from holding a
 * worker, each enforced on real sockets against `sockworker serve` and each
 * counted in its metric. Connections still in their PROXY header or TLS
 * handshake count against max_connections; a PROXY header, an HTTP request
 * head or a TLS handshake that does not finish in time is cut off; a UDP
 * listener at max_flows drops new peers and keeps serving the old ones.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket as NetSocket } from 'node:net'
import { test } from 'node:test'
import { makeCerts } from '../helpers/certs.ts'
import { within } from '../helpers/timers.ts'
import { jsonLog, serveProject } from './support/harness.ts'
import { scrapeUntil } from './support/metrics.ts'

/** Echoes TCP and UDP; answers HTTP with "ok". */
const WORKER = `
export default {
  async connect(socket) { await socket.readable.pipeTo(socket.writable) },
  async fetch() { return new Response('ok') },
}
`
const HEAD = `${jsonLog}[metrics]\nlisten = "127.0.0.1:0"\n[[workers]]\nname = "m"\nscript = "worker.js"\n`

function config(limits: Record<string, number>, listeners: string): string {
  const lines = Object.entries({ drain_timeout_ms: 1000, ...limits }).map(([k, v]) => `${k} = ${v}`)
  return `${HEAD}[workers.limits]\n${lines.join('\n')}\n${listeners}`
}

function listener(type: string, extra = ''): string {
  return `[[workers.listeners]]\ntype = "${type}"\naddress = "127.0.0.1:0"\n${extra}\n`
}

interface Raw {
  socket: NetSocket
  /** Resolves when the connection is closed. */
  ended: Promise<unknown>
}

/** A raw TCP connection, open. */
async function raw(port: number): Promise<Raw> {
  const socket = connect({ host: '127.0.0.1', port })
  // A refused or timed-out connection may end with a reset: that is a close too.
  socket.on('error', () => {})
  const ended = new Promise((resolve) => socket.once('close', resolve))
  await within(once(socket, 'connect'), 5000, 'the connection')
  return { socket, ended }
}

/** Sends `text` and resolves with everything read until the server closes. */
async function exchange({ socket, ended }: Raw, text: string): Promise<string> {
  let reply = ''
  socket.on('data', (chunk: Buffer) => {
    reply += chunk.toString('latin1')
  })
  socket.write(text)
  await within(ended, 5000, 'the server to close the connection')
  return reply
}

test('max_connections counts connections still waiting for their PROXY header', async () => {
  const toml = config(
    { max_connections: 2, header_timeout_ms: 60_000 },
    listener('tcp', 'proxy_protocol = "v1"'),
  )
  await using served = await serveProject({ 'sockworker.toml': toml, 'worker.js': WORKER }, 1)
  const [port = 0] = served.ports
  const url = served.metricsUrl ?? ''
  const silent = [await raw(port), await raw(port)]
  await scrapeUntil(url, (f) => f('handshakes_pending') === 2, 'two pending connections')

  const third = await raw(port)
  assert.equal(await exchange(third, 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nhello'), '')
  const figure = await scrapeUntil(url, (f) => f('connections_refused_total') === 1, 'a refusal')
  assert.equal(figure('connections_total'), 0, 'nothing was dispatched')

  // One silent client leaves: its place frees, and a proper client is served.
  silent[0]?.socket.destroy()
  await scrapeUntil(url, (f) => f('handshakes_pending') === 1, 'one pending connection')
  const { socket: proper } = await raw(port)
  proper.write('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nhello')
  const [echo] = (await within(once(proper, 'data'), 5000, 'the echo')) as [Buffer]
  assert.equal(echo.toString(), 'hello')
  proper.destroy()
  silent[1]?.socket.destroy()
  await served.waitForLog((e) => e.msg === 'connection refused: max_connections reached')
})

test('header_timeout_ms cuts off a PROXY header that never completes, and counts it', async () => {
  const toml = config({ header_timeout_ms: 200 }, listener('tcp', 'proxy_protocol = "v2"'))
  await using served = await serveProject({ 'sockworker.toml': toml, 'worker.js': WORKER }, 1)
  const [port = 0] = served.ports
  const url = served.metricsUrl ?? ''
  const slow = await raw(port)
  // The first bytes of the v2 signature, then nothing.
  assert.equal(await exchange(slow, '\r\n\r\n\0'), '')
  const figure = await scrapeUntil(url, (f) => f('header_timeouts_total') === 1, 'a timeout')
  assert.equal(figure('handshakes_pending'), 0)
  assert.equal(figure('connections_total'), 0)
})

test('handshake_timeout_ms cuts off a TLS handshake that never starts, and counts it', async () => {
  const certs = await makeCerts()
  const tls = `cert = ${JSON.stringify(certs.files.serverCert)}\nkey = ${JSON.stringify(certs.files.serverKey)}`
  const toml = config({ handshake_timeout_ms: 200 }, listener('tls', tls))
  await using served = await serveProject({ 'sockworker.toml': toml, 'worker.js': WORKER }, 1)
  const [port = 0] = served.ports
  const url = served.metricsUrl ?? ''
  const silent = await raw(port)
  await within(silent.ended, 5000, 'the server to close the silent connection')
  const figure = await scrapeUntil(url, (f) => f('handshake_timeouts_total') === 1, 'a timeout')
  assert.equal(figure('handshakes_pending'), 0)
  assert.equal(figure('connections_total'), 0)
})

test('a client that hangs up mid-handshake frees its place at once and is no handshake timeout', async () => {
  // Regression: the TLS terminator waited only for 'secure' or 'error', and a
  // peer's plain close raises neither, so the attempt held its place under
  // max_connections until handshake_timeout_ms and was then counted as a timeout.
  const certs = await makeCerts()
  const tls = `cert = ${JSON.stringify(certs.files.serverCert)}\nkey = ${JSON.stringify(certs.files.serverKey)}`
  const toml = config({ handshake_timeout_ms: 60_000 }, listener('tls', tls))
  await using served = await serveProject({ 'sockworker.toml': toml, 'worker.js': WORKER }, 1)
  const [port = 0] = served.ports
  const url = served.metricsUrl ?? ''
  const quitter = await raw(port)
  await scrapeUntil(url, (f) => f('handshakes_pending') === 1, 'the pending handshake')
  quitter.socket.end()
  await within(quitter.ended, 5000, 'the connection to close')
  const figure = await scrapeUntil(url, (f) => f('handshakes_pending') === 0, 'the place freed')
  assert.equal(figure('handshake_timeouts_total'), 0)
})

test('header_timeout_ms answers a slow HTTP request head with 408; HTTP connections count against max_connections', async () => {
  const toml = config({ header_timeout_ms: 200, max_connections: 1 }, listener('http'))
  await using served = await serveProject({ 'sockworker.toml': toml, 'worker.js': WORKER }, 1)
  const [port = 0] = served.ports
  const url = served.metricsUrl ?? ''
  const slow = await raw(port)
  const refused = await raw(port)
  assert.equal(await exchange(refused, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'), '')
  await scrapeUntil(url, (f) => f('connections_refused_total') === 1, 'a refusal')

  const reply = await exchange(slow, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ')
  assert.match(reply, /^HTTP\/1\.1 408 Request Timeout\r\n/)
  await scrapeUntil(url, (f) => f('header_timeouts_total') === 1, 'a timeout')

  const served2 = await raw(port)
  const ok = await exchange(served2, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.match(ok, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\n(2\r\n)?ok/)
})

test('max_flows: a new UDP peer past the cap is dropped and counted; the open flow keeps working', async () => {
  const toml = config({}, listener('udp', 'max_flows = 1'))
  await using served = await serveProject({ 'sockworker.toml': toml, 'worker.js': WORKER }, 1)
  const [port = 0] = served.ports
  const url = served.metricsUrl ?? ''
  await using peers = await udpPeers(port)
  const { echo, second } = peers
  assert.equal(await echo('one'), 'one')
  second.send('dropped', port, '127.0.0.1')
  await scrapeUntil(url, (f) => f('udp_flows_dropped_total') === 1, 'a dropped flow')
  assert.equal(await echo('two'), 'two')
  second.send('dropped again', port, '127.0.0.1')
  const figure = await scrapeUntil(url, (f) => f('udp_flows_dropped_total') === 2, 'two drops')
  assert.equal(figure('connections_total'), 1, 'one flow was dispatched')
})

test('new_flows_per_second: a new UDP peer faster than the rate is dropped and counted apart; the open flow keeps working', async () => {
  // One flow a second: the first peer takes it, the second, at once after, is refused.
  const toml = config({}, listener('udp', 'new_flows_per_second = 1'))
  await using served = await serveProject({ 'sockworker.toml': toml, 'worker.js': WORKER }, 1)
  const [port = 0] = served.ports
  const url = served.metricsUrl ?? ''
  await using peers = await udpPeers(port)
  const { echo, second } = peers
  assert.equal(await echo('one'), 'one')
  second.send('too soon', port, '127.0.0.1')
  const figure = await scrapeUntil(
    url,
    (f) => f('udp_flows_rate_limited_total') === 1,
    'a rate-limited flow',
  )
  assert.equal(figure('udp_flows_dropped_total'), 0, 'max_flows did not drop it')
  assert.equal(await echo('two'), 'two')
})

test('UDP flows do not take the places of TCP connections under max_connections', async () => {
  // Regression: the check counted every running handler, UDP flows included,
  // so open flows (a flood of new sources) shut out the worker's TCP clients.
  const toml = config({ max_connections: 1 }, listener('udp') + listener('tcp'))
  await using served = await serveProject({ 'sockworker.toml': toml, 'worker.js': WORKER }, 2)
  const [udpPort = 0, tcpPort = 0] = served.ports
  const url = served.metricsUrl ?? ''
  const { createSocket } = await import('node:dgram')
  const peer = createSocket('udp4')
  try {
    const reply = once(peer, 'message')
    peer.send('flow', udpPort, '127.0.0.1')
    await within(reply, 5000, 'the UDP echo')
    const { socket: first } = await raw(tcpPort)
    first.write('tcp')
    const [echo] = (await within(once(first, 'data'), 5000, 'the TCP echo')) as [Buffer]
    assert.equal(echo.toString(), 'tcp', 'served beside an open UDP flow')
    // The one TCP place is taken now: the limit still holds for TCP.
    assert.equal(await exchange(await raw(tcpPort), 'refused'), '')
    await scrapeUntil(url, (f) => f('connections_refused_total') === 1, 'a refusal')
    first.destroy()
  } finally {
    peer.close()
  }
})

/**
 * Two UDP peers of `port`: `echo` sends from the first and waits for its
 * reply (an open flow); `second` is a new source, for the limits to refuse.
 */
async function udpPeers(port: number) {
  const { createSocket } = await import('node:dgram')
  const first = createSocket('udp4')
  const second = createSocket('udp4')
  const echo = async (text: string) => {
    const reply = once(first, 'message')
    first.send(text, port, '127.0.0.1')
    const [message] = (await within(reply, 5000, `the echo of ${text}`)) as [Buffer]
    return message.toString()
  }
  return {
    echo,
    second,
    async [Symbol.asyncDispose]() {
      first.close()
      second.close()
    },
  }
}
