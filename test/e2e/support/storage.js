/**
 * A worker for the storage egress e2e test. The client sends one line:
 * - "store NAME": one transaction on env[NAME] that increments `hits`;
 *   replies "store ok <n>" or "store error <code>";
 * - "net HOST PORT": its own `node:net` connection there;
 * - "cf HOST PORT": its own `cloudflare:sockets` connection there;
 * - "own URL": a storage binding the worker opens itself, with the
 *   runtime's own module (env.BINDINGS_MODULE), on URL;
 * each replying "<how> ok …" or "<how> error <code> [<cause's code>] (<message>)".
 */
import { connect } from 'cloudflare:sockets'
import * as net from 'node:net'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const attempts = {
  store: (env, name) =>
    env[name].transaction(async (tx) => {
      const n = Number((await tx.get('hits')) ?? 0) + 1
      await tx.put('hits', String(n))
      return n
    }),
  net: (_env, host, port) =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host, port: Number(port) }, () => {
        socket.destroy()
        resolve('connected')
      })
      socket.once('error', reject)
    }),
  cf: async (_env, host, port) => {
    const socket = connect(`${host}:${port}`)
    await socket.opened
    await socket.close()
    return 'connected'
  },
  own: async (env, url) => {
    const { openBindings } = await import(env.BINDINGS_MODULE)
    const { MINE } = openBindings({ MINE: { url, timeoutMs: 1000 } })
    return MINE.get('hits')
  },
}

export default {
  async connect(socket, env) {
    const reader = socket.readable.getReader()
    const writer = socket.writable.getWriter()
    const { value } = await reader.read()
    const [how, ...args] = decoder.decode(value).trim().split(' ')
    let outcome
    try {
      outcome = `ok ${await attempts[how](env, ...args)}`
    } catch (error) {
      const code = error?.code ?? 'none'
      const cause = error?.cause?.code ? ` ${error.cause.code}` : ''
      outcome = `error ${code}${cause} (${error?.message})`
    }
    await writer.write(encoder.encode(`${how} ${outcome}\n`))
  },
}
