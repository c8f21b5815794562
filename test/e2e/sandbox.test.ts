/**
 * End to end: a worker under `sockworker serve` stays in its sandbox. One
 * `serve` runs two workers from the same probe script (support/sandbox-probe.js):
 * `probe` with the default sandbox, and `opted`, whose config allows
 * child_process, worker_threads and wasi. Each test tries one route out
 * and asserts the exact refusal, next to the legitimate use that must keep
 * working. CI runs as root, so the replicas drop to nobody (65534): these
 * tests fail, not skip, when run otherwise.
 */
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { after, before, test } from 'node:test'
import { createServer as createTlsServer } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { makeCerts } from '../helpers/certs.ts'
import { startCli, tempProject } from './cli.ts'
import { type LineClient, openClient } from './support/clients.ts'
import { fixture, jsonLog, type Served, serveProject } from './support/harness.ts'

const repoPackageJson = fileURLToPath(new URL('../../package.json', import.meta.url))
type Reply = { ok: true; value: unknown } | { ok: false; code: string; message: string }

let served: Served
let allowed: Server
let named: Server
let allowedPort = 0
let namedPort = 0
const clients: LineClient[] = []
const pids: Record<string, number> = {}

before(async () => {
  // TLS, so that a worker's TLS client is tested too; a plain TCP connect
  // (the raw-handle tests) still opens and closes.
  const certs = await makeCerts()
  allowed = createTlsServer(certs.server, (socket) => socket.end('tls ok'))
  await new Promise<void>((resolve) => allowed.listen(0, '127.0.0.1', resolve))
  allowedPort = (allowed.address() as { port: number }).port
  named = createServer((socket) => socket.end())
  await new Promise<void>((resolve) => named.listen(0, '127.0.0.1', resolve))
  namedPort = (named.address() as { port: number }).port
  const listener = '[[workers.listeners]]\ntype = "tcp"\naddress = "127.0.0.1:0"\n'
  const toml = `${jsonLog}
[[workers]]
name = "probe"
script = "probe.js"
vars = { NAME = "probe", GREETING = "hi" }
secrets = { TOKEN = { file = "token.txt" } }
[workers.egress]
allow = ["127.0.0.1:${allowedPort}", "localhost:${namedPort}"]
[workers.storage]
STORE = { path = "data/store.sqlite" }
${listener}
[[workers]]
name = "opted"
script = "probe.js"
vars = { NAME = "opted" }
[workers.sandbox]
allow = ["child_process", "worker_threads", "wasi"]
${listener}`
  served = await serveProject(
    {
      'sockworker.toml': toml,
      'probe.js': readFileSync(fixture('sandbox-probe.js'), 'utf8'),
      'helper.js': 'export const helper = () => "imported"\n',
      'data.txt': 'beside the worker\n',
      'token.txt': 's3cret\n',
      'ca.pem': certs.ca,
    },
    2,
  )
  for (const [index, name] of ['probe', 'opted'].entries()) {
    const client = await openClient(served.ports[index] ?? 0)
    const [, pid] = await client.until(new RegExp(`^hello ${name} (\\d+)\\n`))
    pids[name] = Number(pid)
    clients[index] = client
  }
})

after(async () => {
  for (const client of clients) await client[Symbol.asyncDispose]()
  await served?.[Symbol.asyncDispose]()
  allowed?.close()
  named?.close()
})

/** Sends one command to `probe` (or `opted`) and returns its JSON reply. */
async function ask(line: string, worker: 'probe' | 'opted' = 'probe'): Promise<Reply> {
  const client = clients[worker === 'probe' ? 0 : 1]
  assert.ok(client, `a connection to ${worker}`)
  const from = client.text.length
  client.send(`${line}\n`)
  const [json = ''] = await client.until(/\{.*\}\n/, 5000, from)
  return JSON.parse(json) as Reply
}

const refused = (code: string, message: string | RegExp) => (reply: Reply) => {
  assert.equal(reply.ok, false, `expected a refusal, got ${JSON.stringify(reply)}`)
  if (reply.ok) return
  assert.equal(reply.code, code)
  if (typeof message === 'string') assert.equal(reply.message, message)
  else assert.match(reply.message, message)
}
const accessDenied = (flag: string) =>
  refused(
    'ERR_ACCESS_DENIED',
    `Access to this API has been restricted. Use ${flag} to manage permissions.`,
  )

test('files: the worker reads its folder and imports beside it; /etc/passwd and the repository are refused', async () => {
  assert.deepEqual(await ask('helper'), { ok: true, value: 'imported' })
  assert.deepEqual(await ask('data'), { ok: true, value: 'beside the worker' })
  accessDenied('--allow-fs-read')(await ask('read /etc/passwd'))
  accessDenied('--allow-fs-read')(await ask(`read ${repoPackageJson}`))
})

test('files: writes go to storage only, as nobody; the worker folder and /tmp are refused', async () => {
  assert.deepEqual(await ask('put k1'), { ok: true, value: 'value of k1' })
  const store = `${served.dir}/data/store.sqlite`
  assert.equal(statSync(store).uid, 65_534, 'the storage file belongs to nobody')
  accessDenied('--allow-fs-write')(await ask(`write ${served.dir}/escaped.txt`))
  accessDenied('--allow-fs-write')(await ask('write /tmp/sockworker-escaped.txt'))
})

test('files: node:sqlite, which ignores the file permissions, is closed; the storage binding works', async () => {
  const message =
    'node:sqlite is closed in a sandboxed worker: it does not follow the file permissions; use a storage binding ([workers.storage])'
  refused('ERR_ACCESS_DENIED', message)(await ask('sqlite /tmp/sockworker-escaped.sqlite'))
  refused('ERR_ACCESS_DENIED', message)(await ask('sqlite :memory:'))
  refused('ERR_ACCESS_DENIED', message)(await ask('sqlite-builtin'))
  refused(
    'ERR_ACCESS_DENIED',
    'module.registerHooks() is closed: a sandboxed worker cannot change how modules resolve',
  )(await ask('sqlite-hook'))
  assert.deepEqual(await ask('put k2'), { ok: true, value: 'value of k2' })
})

test('Unix sockets: listening and connecting are refused, also on a raw Pipe handle', async () => {
  const path = `${served.dir}/data/escape.sock`
  refused(
    'ERR_ACCESS_DENIED',
    `Cannot listen on the Unix socket "${path}": a sandboxed worker listens through its config's listeners`,
  )(await ask(`unix-listen ${path}`))
  const egress = `Egress to the local socket "/run/dbus/system_bus_socket" denied: workers connect over TCP and UDP only`
  refused('ERR_EGRESS_DENIED', egress)(await ask('unix-connect /run/dbus/system_bus_socket'))
  refused('ERR_EGRESS_DENIED', egress)(await ask('raw-pipe /run/dbus/system_bus_socket'))
})

test('child_process: refused by default; allowed by name, it runs as nobody', async () => {
  accessDenied('--allow-child-process')(await ask('spawn'))
  assert.deepEqual(await ask('spawn', 'opted'), { ok: true, value: '65534' })
  // libuv drops root's supplementary groups along with the uid.
  assert.deepEqual(await ask('groups', 'opted'), { ok: true, value: '65534' })
})

test('worker_threads: refused by default; allowed by name', async () => {
  accessDenied('--allow-worker')(await ask('thread'))
  assert.deepEqual(await ask('thread', 'opted'), { ok: true, value: 42 })
})

test('wasi: refused by default; allowed by name', async () => {
  accessDenied('--allow-wasi')(await ask('wasi'))
  assert.deepEqual(await ask('wasi', 'opted'), { ok: true, value: 'object' })
})

test('native addons: process.dlopen and process._linkedBinding are refused', async () => {
  const hint = 'allow it with [workers.sandbox] allow = ["addons"]'
  refused(
    'ERR_ACCESS_DENIED',
    `Native addons are refused; ${hint} (for outbound QUIC, allow = ["quic"])`,
  )(await ask('addon'))
  refused(
    'ERR_ACCESS_DENIED',
    `process._linkedBinding() is closed; ${hint}`,
  )(await ask('linked tcp_wrap'))
})

test('raw handles: process.binding, internals and the inspector are closed', async () => {
  for (const name of ['tcp_wrap', 'udp_wrap', 'fs', 'process_wrap']) {
    refused(
      'ERR_ACCESS_DENIED',
      'process.binding() is closed in a sandboxed worker',
    )(await ask(`binding ${name}`))
  }
  refused(
    'ERR_MODULE_NOT_FOUND',
    /^Cannot find package 'internal' imported from /,
  )(await ask('internals'))
  assert.deepEqual(await ask('builtin-internal'), { ok: true, value: 'undefined' })
  assert.deepEqual(await ask('internal-binding'), { ok: true, value: 'undefined' })
  accessDenied('--allow-inspector')(await ask('inspector'))
})

test('TLS client: node:tls, loaded on first use after the lockdown, verifies and connects', async () => {
  assert.deepEqual(await ask(`tls-connect ${allowedPort}`), { ok: true, value: 'tls ok' })
})

test('raw handles: a raw TCP connect meets the egress policy; the allowed target still connects', async () => {
  assert.deepEqual(await ask(`connect ${allowedPort}`), { ok: true, value: 'connected' })
  refused(
    'ERR_EGRESS_DENIED',
    `Egress to "127.0.0.1:${allowedPort + 1}" denied: 127.0.0.1 is a loopback address, and the policy allows only 127.0.0.1:${allowedPort}, localhost:${namedPort}`,
  )(await ask(`raw-connect ${allowedPort + 1}`))
  // A raw handle wrapped in net.Socket connects only where the policy allows.
  refused(
    'ERR_EGRESS_DENIED',
    `Egress to "127.0.0.1:${allowedPort + 1}" denied: 127.0.0.1 is a loopback address, and the policy allows only 127.0.0.1:${allowedPort}, localhost:${namedPort}`,
  )(await ask(`socket-handle ${allowedPort + 1}`))
  assert.deepEqual(await ask(`socket-handle ${allowedPort}`), { ok: true, value: 'connected' })
})

test('raw handles: an address a name rule passed connects; the same address on a raw handle does not', async () => {
  // "localhost:PORT" allows 127.0.0.1:PORT for connections to that name only.
  assert.deepEqual(await ask(`connect localhost:${namedPort}`), { ok: true, value: 'connected' })
  refused(
    'ERR_EGRESS_DENIED',
    `Egress to "127.0.0.1:${namedPort}" denied: 127.0.0.1 is a loopback address, and the policy allows only 127.0.0.1:${allowedPort}, localhost:${namedPort}`,
  )(await ask(`raw-connect ${namedPort}`))
})

test("DNS: a resolver's servers meet the egress policy; an allowed address is accepted", async () => {
  const reason = `Egress to "10.9.8.7:53" denied: 10.9.8.7 is a private address, and the policy allows only 127.0.0.1:${allowedPort}, localhost:${namedPort}`
  refused('ERR_EGRESS_DENIED', reason)(await ask('dns-servers 10.9.8.7'))
  refused('ERR_EGRESS_DENIED', reason)(await ask('dns-default-servers 10.9.8.7'))
  assert.deepEqual(await ask(`dns-servers 127.0.0.1:${allowedPort}`), { ok: true, value: 'set' })
})

test('the guards cannot be undone: their properties are non-configurable', async () => {
  refused('TypeError', 'Cannot redefine property: kill')(await ask('undo-kill'))
  refused('TypeError', 'Cannot redefine property: connect')(await ask('undo-raw'))
})

test('environment: only what the runtime needs; vars and secrets arrive on env', async () => {
  const expected = ['NODE_EXTRA_CA_CERTS', 'TZ'].filter((name) => process.env[name] !== undefined)
  assert.deepEqual(await ask('env'), { ok: true, value: expected })
  assert.deepEqual(await ask('var GREETING'), { ok: true, value: 'hi' })
  assert.deepEqual(await ask('var TOKEN'), { ok: true, value: 's3cret' })
})

test('privileges: replicas run as nobody and signal only themselves', async () => {
  assert.deepEqual(await ask('uid'), { ok: true, value: [65_534, 65_534] })
  const supervisor = served.cli.child.pid
  assert.deepEqual(await ask('ppid'), { ok: true, value: supervisor })
  const eperm = (pid: number | undefined) =>
    refused(
      'EPERM',
      `Cannot signal process ${pid}: a sandboxed worker may signal only itself (EPERM)`,
    )
  eperm(supervisor)(await ask(`kill ${supervisor}`))
  eperm(pids['opted'])(await ask(`kill ${pids['opted']}`))
  eperm(0)(await ask('kill 0'))
  assert.deepEqual(await ask(`kill ${pids['probe']}`), { ok: true, value: true })
  // With child_process allowed, the kernel still refuses: nobody cannot signal root.
  const viaKill = await ask(`spawn-kill ${supervisor}`, 'opted')
  assert.equal(viaKill.ok, false)
  if (!viaKill.ok) assert.match(viaKill.message, /Operation not permitted/)
})

test('privileges: a UDP port below 1024 is refused at start, with what to do', async () => {
  await using project = await tempProject({
    'sockworker.toml': `${jsonLog}[[workers]]\nname = "dns"\nscript = "${fixture('sandbox-probe.js')}"\n[[workers.listeners]]\ntype = "udp"\naddress = "127.0.0.1:53"\n`,
  })
  await using cli = startCli(['serve', '--config', project.path('sockworker.toml')])
  assert.equal(await cli.exited, 1)
  assert.match(
    cli.output,
    /Cannot serve udp 127\.0\.0\.1:53 for worker \\"dns\\": its replicas bind their UDP sockets themselves and run as \\"nobody\\", who cannot bind ports below 1024\. Use a port of 1024 or more, lower net\.ipv4\.ip_unprivileged_port_start, or set \[workers\.sandbox\] user = \\"root\\"/,
  )
})

test('dev says in one line that it runs the worker unsandboxed', async () => {
  await using cli = startCli(['dev', fixture('sandbox-probe.js'), '--tcp', '127.0.0.1:0'])
  await cli.waitFor(
    /^dev runs the worker unsandboxed: it may read and write any file, run programs and see the environment \(serve does not allow this; see docs\/security\.md\)$/m,
  )
})
