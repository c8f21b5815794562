/**
 * The attacks of the overload benches, each run in its own process (so that
 * its work does not slow the well-behaved client's measurements) until
 * SIGTERM, when it prints one JSON line of what it did. Loopback only.
 *
 *   node bench/overload/attack.ts slowloris PORT [--quick]
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { type Socket as NetSocket, connect as tcpConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'

export const attacks = [
  'slowloris',
  'tls-flood',
  'proxy-stall',
  'udp-flood',
  'slow-reader',
] as const
export type AttackName = (typeof attacks)[number]

type Counters = Record<string, number>

function add(counters: Counters, key: string, n: number): void {
  counters[key] = (counters[key] ?? 0) + n
}

/** Opens at most this many connections per 100 ms, so the kernel's accept queue keeps up. */
const OPEN_PER_TICK = 100

/**
 * Keeps `count` connections open, opening new ones as the server closes
 * them; `each` is called on every new one.
 */
function hold(
  count: number,
  open: () => NetSocket,
  each: (socket: NetSocket) => void,
  counters: Counters,
): Set<NetSocket> {
  const live = new Set<NetSocket>()
  let opening = 0
  const tick = () => {
    for (let i = 0; i < OPEN_PER_TICK && live.size + opening < count; i++) {
      opening++
      const socket = open()
      let connected = false
      socket.on('error', () => {})
      socket.once('connect', () => {
        connected = true
        opening--
        live.add(socket)
        add(counters, 'opened', 1)
        each(socket)
      })
      socket.once('close', () => {
        if (!connected) opening--
        live.delete(socket)
        add(counters, 'closedByServer', 1)
      })
    }
    counters['peakOpen'] = Math.max(counters['peakOpen'] ?? 0, live.size)
  }
  setInterval(tick, 100)
  tick()
  return live
}

const tcp = (port: number) => () => tcpConnect({ host: '127.0.0.1', port })

/** Connections that each send one byte every 10 s, staggered, and read what comes back. */
function slowloris(port: number, quick: boolean, counters: Counters): void {
  const live = hold(quick ? 500 : 5000, tcp(port), () => {}, counters)
  // One byte to a tenth of the connections each second: every connection every 10 s.
  let turn = 0
  setInterval(() => {
    let i = 0
    for (const socket of live) {
      if (i++ % 10 === turn) socket.write('x')
    }
    turn = (turn + 1) % 10
    add(counters, 'bytesSent', Math.ceil(live.size / 10))
  }, 1000)
}

/**
 * Two floods at once: loops of complete TLS handshakes as fast as they go
 * (the CPU cost of a handshake), and TCP connections to the TLS port that
 * never send a ClientHello (what `handshake_timeout_ms` cuts off).
 */
function tlsFlood(port: number, quick: boolean, counters: Counters): void {
  const loop = () => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
    socket.on('error', () => {
      add(counters, 'handshakeErrors', 1)
    })
    socket.once('secureConnect', () => {
      add(counters, 'handshakes', 1)
      socket.destroy()
    })
    socket.once('close', loop)
  }
  for (let i = 0; i < (quick ? 16 : 64); i++) loop()
  hold(quick ? 200 : 2000, tcp(port), () => {}, counters)
}

/** Connections that start a PROXY v1 header and never finish it. */
function proxyStall(port: number, quick: boolean, counters: Counters): void {
  hold(quick ? 500 : 5000, tcp(port), (socket) => socket.write('PROXY TCP4 '), counters)
}

/**
 * One datagram from each of ever new sources: each socket binds a random
 * 127.x.y.z address (the whole of 127/8 is loopback on Linux), so that
 * every datagram opens a new flow until the cap.
 */
function udpFlood(port: number, quick: boolean, counters: Counters): void {
  const inFlight = quick ? 32 : 128
  const payload = Buffer.alloc(32, 0x62)
  const one = () => {
    const socket: UdpSocket = createSocket('udp4')
    socket.on('error', () => {})
    const address = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`
    socket.bind(0, address, () => {
      socket.send(payload, port, '127.0.0.1', () => {
        add(counters, 'datagrams', 1)
        // close, bind and send to an IP all call back on the next tick: without
        // setImmediate the chain never yields, and starves the event loop (and SIGTERM).
        socket.close(() => setImmediate(one))
      })
    })
  }
  for (let i = 0; i < inFlight; i++) one()
}

/** Connections that send a large request to the echo worker and never read its echo. */
function slowReader(port: number, quick: boolean, counters: Counters): void {
  const chunk = Buffer.alloc(64 * 1024, 0x63)
  const total = (quick ? 4 : 16) * 1024 * 1024
  hold(
    quick ? 50 : 200,
    tcp(port),
    (socket) => {
      socket.pause() // never read
      let sent = 0
      const pump = () => {
        while (sent < total) {
          sent += chunk.byteLength
          add(counters, 'bytesWritten', chunk.byteLength)
          if (!socket.write(chunk)) return void socket.once('drain', pump)
        }
      }
      pump()
    },
    counters,
  )
}

const run: Record<AttackName, (port: number, quick: boolean, counters: Counters) => void> = {
  slowloris,
  'tls-flood': tlsFlood,
  'proxy-stall': proxyStall,
  'udp-flood': udpFlood,
  'slow-reader': slowReader,
}

if (import.meta.main) {
  const [name, port, flag] = process.argv.slice(2)
  if (!attacks.includes(name as AttackName) || !Number(port)) {
    console.error(`Usage: attack.ts ${attacks.join('|')} PORT [--quick]`)
    process.exit(64)
  }
  const counters: Counters = {}
  run[name as AttackName](Number(port), flag === '--quick', counters)
  process.once('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify(counters)}\n`, () => process.exit(0))
  })
}
