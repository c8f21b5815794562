/**
 * A worker for the sandbox e2e tests: it tries each route out of its
 * sandbox on request. It greets each connection with its name and pid,
 * then answers each line "command [argument]" with one JSON line,
 * `{"ok":true,"value":…}` or `{"ok":false,"code":…,"message":…}`.
 * It imports `./helper.js` and reads `./data.txt`, both beside it.
 */
import { execFileSync } from 'node:child_process'
import * as dns from 'node:dns'
import { readFileSync, writeFileSync } from 'node:fs'
import * as net from 'node:net'
import { WASI } from 'node:wasi'
import { Worker } from 'node:worker_threads'
import { helper } from './helper.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A TCP handle of our own, and the raw constructor it leads to. */
async function rawTcp() {
  const server = net.createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const TCP = server._handle.constructor
  server.close()
  return TCP
}

const commands = {
  helper: () => helper(),
  data: () => readFileSync(new URL('data.txt', import.meta.url), 'utf8').trim(),
  read: (path) => readFileSync(path, 'utf8').length,
  write: (path) => {
    writeFileSync(path, 'escaped\n')
    return 'written'
  },
  put: async (key, env) => {
    await env.STORE.put(key, `value of ${key}`)
    return env.STORE.get(key)
  },
  fill: async (count, env) => {
    for (let i = 0; i < Number(count); i++) await env.STORE.put(`k${i}`, `v${i}`)
    return Number(count)
  },
  count: async (_, env) => (await env.STORE.list({ prefix: 'k' })).length,
  sqlite: async (path) => {
    const { DatabaseSync } = await import('node:sqlite')
    return typeof new DatabaseSync(path)
  },
  'sqlite-hook': async () => {
    const { registerHooks } = await import('node:module')
    registerHooks({ resolve: (specifier, context, next) => next(specifier, context) })
    return 'registered'
  },
  'sqlite-builtin': () => typeof process.getBuiltinModule('node:sqlite').backup(null, '/tmp/x'),
  'unix-listen': (path) =>
    new Promise((resolve, reject) => {
      const server = net.createServer()
      server.once('error', reject)
      server.listen(path, () => resolve('listening'))
    }),
  'unix-connect': (path) =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ path })
      socket.once('error', reject)
      socket.once('connect', () => resolve('connected'))
    }),
  'raw-pipe': (path) => {
    // stdout is a pipe when serve runs under a test: its handle leads to the Pipe type.
    const Pipe = process.stdout._handle.constructor
    return new Pipe(0).connect(new Pipe(0), path)
  },
  spawn: () => execFileSync('/usr/bin/id', ['-u']).toString().trim(),
  groups: () => execFileSync('/usr/bin/id', ['-G']).toString().trim(),
  'spawn-kill': (pid) => execFileSync('/bin/kill', ['-0', pid], { stdio: 'pipe' }).toString(),
  thread: () =>
    new Promise((resolve, reject) => {
      const worker = new Worker('require("node:worker_threads").parentPort.postMessage(6 * 7)', {
        eval: true,
      })
      worker.once('message', resolve)
      worker.once('error', reject)
    }),
  wasi: () => typeof new WASI({ version: 'preview1' }).wasiImport,
  addon: () => process.dlopen({ exports: {} }, '/nonexistent/addon.node'),
  binding: (name) => Object.keys(process.binding(name)).length,
  linked: (name) => Object.keys(process._linkedBinding(name)).length,
  internals: async () => Object.keys(await import('internal/test/binding')).length,
  'internal-binding': () => typeof globalThis.internalBinding,
  inspector: async () => {
    const { Session } = await import('node:inspector')
    new Session().connect()
    return 'connected'
  },
  'socket-handle': async (port) => {
    const TCP = await rawTcp()
    // manualStart: no read() on a handle that is not connected yet (ENOTCONN)
    const socket = new net.Socket({ handle: new TCP(0), manualStart: true })
    return new Promise((resolve, reject) => {
      socket.once('error', reject)
      socket.connect(Number(port), '127.0.0.1', () => resolve('connected'))
    })
  },
  'builtin-internal': () => typeof process.getBuiltinModule('internal/test/binding'),
  'raw-connect': async (port) => {
    const TCP = await rawTcp()
    return new TCP(0).connect(new TCP(0), '127.0.0.1', Number(port))
  },
  'dns-servers': (server) => {
    new dns.Resolver().setServers([server])
    return 'set'
  },
  'dns-default-servers': (server) => {
    dns.promises.setServers([server])
    return 'set'
  },
  connect: async (target) => {
    const socket = connect(target.includes(':') ? target : `127.0.0.1:${target}`)
    await socket.opened
    await socket.close()
    return 'connected'
  },
  'tls-connect': async (port) => {
    const ca = readFileSync(new URL('ca.pem', import.meta.url), 'utf8')
    const socket = connect(`127.0.0.1:${port}`, { secureTransport: 'on', tls: { ca } })
    const { value } = await socket.readable.getReader().read()
    await socket.close()
    return decoder.decode(value)
  },
  'undo-kill': () => {
    Object.defineProperty(process, 'kill', { value: () => true })
    return 'redefined'
  },
  'undo-raw': async () => {
    const TCP = await rawTcp()
    Object.defineProperty(TCP.prototype, 'connect', { value: () => 0 })
    return 'redefined'
  },
  env: () => Object.keys(process.env).sort(),
  var: (name, env) => env[name],
  kill: (pid) => process.kill(Number(pid), 0),
  ppid: () => process.ppid,
  uid: () => [process.getuid(), process.getgid()],
}

async function run(line, env) {
  const at = line.indexOf(' ')
  const [name, argument] = at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1)]
  const command = commands[name]
  if (command === undefined) return { ok: false, code: 'UNKNOWN', message: name }
  try {
    return { ok: true, value: await command(argument, env) }
  } catch (error) {
    return { ok: false, code: error.code ?? error.name, message: error.message }
  }
}

export default {
  async connect(socket, env) {
    const writer = socket.writable.getWriter()
    await writer.write(encoder.encode(`hello ${env.NAME} ${process.pid}\n`))
    let buffered = ''
    for await (const chunk of socket.readable) {
      buffered += decoder.decode(chunk)
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const line = buffered.slice(0, end).trim()
        buffered = buffered.slice(end + 1)
        await writer.write(encoder.encode(`${JSON.stringify(await run(line, env))}\n`))
      }
    }
  },
}
