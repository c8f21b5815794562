/**
 * A worker for the egress e2e tests. The client sends one line,
 * "<how> <host> <port>", and the worker tries to reach that target the way
 * `how` names, sends "ping", and reports what happened as one line:
 * "<how> ok <reply>" or "<how> error <code>".
 * - cf: `connect()` from 'cloudflare:sockets';
 * - socket: the global `new Socket({ remote })`;
 * - net: `net.connect()` from 'node:net';
 * - udp: the global `new Socket({ type: 'udp', remote })`, one datagram;
 * - dgram: `send()` of a 'node:dgram' socket, one datagram;
 * - quic: the global `new Socket({ type: 'quic', remote })`, its first stream;
 * - quic-why: the same, reporting a failure's message ("quic-why ok <message>").
 */
import { connect } from 'cloudflare:sockets'
import * as dgram from 'node:dgram'
import * as net from 'node:net'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const attempts = {
  cf: (host, port) => roundTrip(connect(`${host}:${port}`)),
  socket: (host, port) => roundTrip(new Socket({ remote: remote(host, port) })),
  net: netRoundTrip,
  udp: (host, port) => roundTrip(new Socket({ type: 'udp', remote: remote(host, port) })),
  dgram: dgramRoundTrip,
  quic: (host, port) =>
    roundTrip(
      new Socket({
        type: 'quic',
        remote: remote(host, port),
        alpn: ['egress'],
        tls: { verify: false },
      }),
    ),
  'quic-why': (host, port) => attempts.quic(host, port).catch((error) => error.message),
}

export default {
  async connect(socket) {
    const reader = socket.readable.getReader()
    const writer = socket.writable.getWriter()
    const { value } = await reader.read()
    const [how, host, port] = decoder.decode(value).trim().split(' ')
    let outcome
    try {
      outcome = `ok ${await withDeadline(attempts[how](host, Number(port)))}`
    } catch (error) {
      outcome = `error ${error?.code ?? error}`
    }
    await writer.write(encoder.encode(`${how} ${outcome}\n`))
  },
}

function remote(host, port) {
  return net.isIP(host) ? { address: host, port } : { hostname: host, port }
}

/** Opens, sends "ping", returns the first reply (a chunk, or a datagram's data). */
async function roundTrip(outbound) {
  try {
    await outbound.opened
    const writer = outbound.writable.getWriter()
    await writer.write(encoder.encode('ping'))
    const { value } = await outbound.readable.getReader().read()
    return decoder.decode(value?.data ?? value)
  } finally {
    outbound.close().catch(() => {})
  }
}

function netRoundTrip(host, port) {
  return new Promise((resolve, reject) => {
    const outbound = net.connect({ host, port }, () => outbound.write('ping'))
    outbound.once('data', (data) => {
      resolve(data.toString())
      outbound.destroy()
    })
    outbound.once('error', reject)
  })
}

function dgramRoundTrip(host, port) {
  const outbound = dgram.createSocket('udp4')
  return new Promise((resolve, reject) => {
    outbound.once('message', (data) => resolve(data.toString()))
    outbound.once('error', reject)
    outbound.send('ping', port, host, (error) => error && reject(error))
  }).finally(() => outbound.close())
}

function withDeadline(promise) {
  let timer
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), 3000)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
