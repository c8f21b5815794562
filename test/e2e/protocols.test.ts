/**
 * End to end: one `sockworker serve` config with every listener type, and
 * clients nobody here wrote: `openssl s_client` for TLS, SNI and
 * `-starttls smtp`, `socat` for UDP, `curl` for HTTP, node:net for TCP.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { makeCerts } from '../helpers/certs.ts'
import { type Peer, spawnPeer } from '../helpers/process.ts'
import { exchange, readyListeners, startCli, tempProject } from './cli.ts'

const run = promisify(execFile)

/** Echoes on every stream and UDP listener; answers HTTP with what it got. */
const ECHO_WORKER = `
export default {
  connect(socket) {
    return socket.readable.pipeTo(socket.writable)
  },
  async fetch(request) {
    const url = new URL(request.url)
    return new Response(request.method + ' ' + url.pathname + url.search + ' ' + (await request.text()))
  },
}
`

/**
 * Just enough SMTP for \`openssl s_client -starttls smtp\`: a greeting, an
 * EHLO reply that offers STARTTLS, "220" to STARTTLS, then the upgrade
 * with the listener's certificate, and an echo over TLS.
 */
const SMTP_WORKER = `
const encoder = new TextEncoder()

export default {
  async connect(socket) {
    const reader = socket.readable.getReader()
    const writer = socket.writable.getWriter()
    const decoder = new TextDecoder()
    let text = ''
    const line = async () => {
      while (!text.includes('\\r\\n')) {
        const { value, done } = await reader.read()
        if (done) throw new Error('The client closed mid-line: ' + JSON.stringify(text))
        text += decoder.decode(value, { stream: true })
      }
      const end = text.indexOf('\\r\\n')
      const got = text.slice(0, end)
      text = text.slice(end + 2)
      return got
    }
    await writer.write(encoder.encode('220 sockworker ESMTP\\r\\n'))
    const ehlo = await line()
    if (!/^EHLO /i.test(ehlo)) throw new Error('Expected EHLO, got ' + JSON.stringify(ehlo))
    await writer.write(encoder.encode('250-x\\r\\n250 STARTTLS\\r\\n'))
    const command = await line()
    if (command.toUpperCase() !== 'STARTTLS') throw new Error('Expected STARTTLS, got ' + command)
    await writer.write(encoder.encode('220 go ahead\\r\\n'))
    reader.releaseLock()
    writer.releaseLock()
    const secure = socket.startTls()
    await secure.readable.pipeTo(secure.writable)
  },
}
`

const CONFIG = `
[log]
format = "json"

[[workers]]
name = "echo"
script = "echo.ts"

[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"

[[workers.listeners]]
type = "tls"
address = "127.0.0.1:0"
cert = "server.crt"
key = "server.key"
sni = { "wrong.example" = { cert = "wrong.crt", key = "wrong.key" }, "localhost" = { cert = "server.crt", key = "server.key" } }

[[workers.listeners]]
type = "udp"
address = "127.0.0.1:0"

[[workers.listeners]]
type = "http"
address = "127.0.0.1:0"

[[workers]]
name = "smtp"
script = "smtp.ts"

[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
cert = "server.crt"
key = "server.key"
`

describe('sockworker serve: every listener type, real clients', async () => {
  const certs = await makeCerts()
  const project = await tempProject({
    'sockworker.toml': CONFIG,
    'echo.ts': ECHO_WORKER,
    'smtp.ts': SMTP_WORKER,
    'server.crt': certs.server.cert,
    'server.key': certs.server.key,
    'wrong.crt': certs.wrongHost.cert,
    'wrong.key': certs.wrongHost.key,
  })
  const cli = startCli(['serve', '--config', project.path('sockworker.toml')])
  after(async () => {
    await cli.stop()
    await project[Symbol.asyncDispose]()
  })
  // A worker's ready lines come in its config order; workers start side by side.
  const [tcp, tls, udp, http] = (await readyListeners(cli, 4, { worker: 'echo' })).map(
    (l) => l.port,
  )
  const [smtp] = (await readyListeners(cli, 1, { worker: 'smtp' })).map((l) => l.port)
  const ca = certs.files.ca

  /** `openssl s_client`, verifying against the test CA, with stdin open for the echo. */
  const sClient = (port: number | undefined, servername: string, extra: string[] = []) =>
    spawnPeer(
      'openssl',
      [
        ...['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', ca],
        ...['-servername', servername, '-verify_hostname', servername, '-verify_return_error'],
        ...['-brief', '-nocommands', ...extra],
      ],
      { stdin: 'pipe', waitFor: /Verification: OK/ },
    )

  /** Writes a line to the client's stdin and waits for it to come back on its stdout. */
  const echoThrough = async (peer: Peer, line: string) => {
    peer.stdin?.write(`${line}\n`)
    await peer.waitFor(line)
    assert.match(peer.stdout, new RegExp(line))
  }

  test('tcp: a node:net client gets its bytes back', async () => {
    assert.equal(await exchange(tcp ?? 0, 'plain tcp\n'), 'plain tcp\n')
  })

  test('tls: openssl s_client verifies the certificate for localhost and gets an echo', async () => {
    await using client = await sClient(tls, 'localhost')
    assert.match(client.output, /Peer certificate: CN = localhost/)
    await echoThrough(client, 'hello over tls')
  })

  test('tls with sni: the client name picks the certificate', async () => {
    await using wrong = await sClient(tls, 'wrong.example')
    assert.match(wrong.output, /Peer certificate: CN = wrong\.example/)
    await echoThrough(wrong, 'hello wrong.example')
    await using local = await sClient(tls, 'localhost')
    assert.match(local.output, /Peer certificate: CN = localhost/)
  })

  test('starttls: openssl s_client -starttls smtp upgrades and gets an echo over TLS', async () => {
    await using client = await sClient(smtp, 'localhost', ['-starttls', 'smtp'])
    assert.match(client.output, /Peer certificate: CN = localhost/)
    await echoThrough(client, 'hello after starttls')
  })

  test('udp: socat gets its datagram back, one flow per client', async () => {
    const clients = await Promise.all(
      [1, 2].map(() => spawnPeer('socat', ['-t5', '-', `UDP:127.0.0.1:${udp}`], { stdin: 'pipe' })),
    )
    try {
      await Promise.all(clients.map((client, i) => echoThrough(client, `hello udp ${i}`)))
      // Each flow echoes only its own datagrams.
      assert.doesNotMatch(clients[0]?.stdout ?? '', /udp 1/)
      assert.doesNotMatch(clients[1]?.stdout ?? '', /udp 0/)
    } finally {
      await Promise.all(clients.map((client) => client.kill()))
    }
  })

  test('http: curl reaches the fetch handler', async () => {
    const base = `http://127.0.0.1:${http}`
    const get = await run('curl', ['-s', '--max-time', '5', `${base}/some/path?q=1`])
    assert.equal(get.stdout, 'GET /some/path?q=1 ')
    const post = await run('curl', ['-s', '--max-time', '5', '-d', 'a body', `${base}/submit`])
    assert.equal(post.stdout, 'POST /submit a body')
  })
})
