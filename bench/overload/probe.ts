/**
 * The well-behaved client of the overload benches: it pings the echo worker
 * (32 bytes, one at a time, every 20 ms) and times each round trip, while an
 * attack runs against the same listener. Over TCP it reconnects every 25
 * round trips, so that the next round trip also pays for a new connection
 * (its TLS handshake, its PROXY header): a flood that starves new clients
 * shows up in the latencies, not only one that slows old ones.
 */
import { createSocket } from 'node:dgram'
import { type Socket as NetSocket, connect as tcpConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'

export type ProbeKind = 'tcp' | 'tls' | 'proxy' | 'udp'

export interface ProbeResult {
  /** Round-trip times in ms, in order. */
  rtts: number[]
  /** Round trips that failed: a refused or dropped connection, no echo within the timeout. */
  failures: number
  /** The first few failure reasons, for the report. */
  reasons: string[]
}

const PAYLOAD = Buffer.alloc(32, 0x61)
const GAP_MS = 20
const RECONNECT_EVERY = 25
const TIMEOUT_MS = 5000
const UDP_TIMEOUT_MS = 1000
const PROXY_HEADER = 'PROXY TCP4 192.0.2.1 127.0.0.1 40000 7000\r\n'

/**
 * Pings until `signal` aborts; resolves with what it measured.
 *
 * @example
 * const result = await probe('tcp', port, signal)
 */
export async function probe(
  kind: ProbeKind,
  port: number,
  signal: AbortSignal,
): Promise<ProbeResult> {
  const result: ProbeResult = { rtts: [], failures: 0, reasons: [] }
  const start = performance.now()
  // When, too: a loss while a flood opens flows reads differently from one
  // while the flow cap refuses it.
  const fail = (reason: string) => {
    result.failures++
    const at = ((performance.now() - start) / 1000).toFixed(1)
    if (result.reasons.length < 8) result.reasons.push(`${reason} (at ${at} s)`)
  }
  if (kind === 'udp') await probeUdp(port, signal, result, fail)
  else await probeStream(kind, port, signal, result, fail)
  return result
}

async function probeStream(
  kind: Exclude<ProbeKind, 'udp'>,
  port: number,
  signal: AbortSignal,
  result: ProbeResult,
  fail: (reason: string) => void,
): Promise<void> {
  while (!signal.aborted) {
    const started = performance.now()
    let socket: NetSocket | undefined
    try {
      socket = await open(kind, port)
      for (let i = 0; i < RECONNECT_EVERY && !signal.aborted; i++) {
        const sent = i === 0 ? started : performance.now()
        await roundTrip(socket)
        result.rtts.push(performance.now() - sent)
        await pause(GAP_MS)
      }
    } catch (error) {
      fail((error as Error).message)
      await pause(GAP_MS)
    } finally {
      socket?.destroy()
    }
  }
}

function open(kind: Exclude<ProbeKind, 'udp'>, port: number): Promise<NetSocket> {
  return new Promise((resolve, reject) => {
    const socket =
      kind === 'tls'
        ? tlsConnect({
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            rejectUnauthorized: false,
          })
        : tcpConnect({ host: '127.0.0.1', port, noDelay: true })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('connect timed out'))
    }, TIMEOUT_MS)
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.once(kind === 'tls' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer)
      if (kind === 'proxy') socket.write(PROXY_HEADER)
      resolve(socket)
    })
  })
}

function roundTrip(socket: NetSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0
    const done = (error?: Error) => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
      socket.off('error', done)
      if (error) reject(error)
      else resolve()
    }
    const onData = (chunk: Buffer) => {
      got += chunk.byteLength
      if (got >= PAYLOAD.byteLength) done()
    }
    const onClose = () => done(new Error('closed before the echo'))
    const timer = setTimeout(() => done(new Error('no echo within 5 s')), TIMEOUT_MS)
    socket.on('data', onData)
    socket.once('close', onClose)
    socket.once('error', done)
    socket.write(PAYLOAD)
  })
}

async function probeUdp(
  port: number,
  signal: AbortSignal,
  result: ProbeResult,
  fail: (reason: string) => void,
): Promise<void> {
  // One flow for the whole run: a flow cap keeps serving the flows it has;
  // a new peer during a flood of new flows is dropped, by design.
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  try {
    while (!signal.aborted) {
      const sent = performance.now()
      const echoed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          socket.off('message', onMessage)
          resolve(false)
        }, UDP_TIMEOUT_MS)
        const onMessage = () => {
          clearTimeout(timer)
          resolve(true)
        }
        socket.once('message', onMessage)
        socket.send(PAYLOAD, port, '127.0.0.1')
      })
      if (echoed) result.rtts.push(performance.now() - sent)
      else fail('no echo within 1 s')
      await pause(GAP_MS)
    }
  } finally {
    socket.close()
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
