/**
 * The Deno QUIC baselines: the same work as `quic-throughput.ts` and
 * `quic-ping-pong.ts`, on Deno's own `Deno.connectQuic()` /
 * `Deno.QuicEndpoint` and their web streams, as a Deno programmer would
 * write it without our API. Ours is the portable `ours()` of each scenario,
 * which on Deno runs the Deno QUIC engine (`adapters/deno/quic/`).
 */
import {
  DenoQuic,
  type QuicConn,
  type QuicEndpoint,
} from '../../packages/sockets/src/adapters/deno/quic/api.ts'
import { makeCerts } from '../../test/helpers/certs.ts'
import { aborted, HOST, type Measurement, MiB, type RunOptions, resources } from '../common.ts'
import { ALPN } from '../quic-common.ts'
import { totalBytes } from '../quic-throughput.ts'

const CHUNK = new Uint8Array(64 * 1024).fill(1)
const SIZE = 64

/** A listener and a client connected to it; the server's first connection is handed over. */
async function rawPair(
  res: AsyncDisposableStack,
): Promise<{ client: QuicConn; server: Promise<QuicConn> }> {
  const certs = await makeCerts()
  const endpoint: QuicEndpoint = new DenoQuic.QuicEndpoint!({ hostname: HOST, port: 0 })
  const listener = endpoint.listen({ ...certs.server, alpnProtocols: [ALPN] })
  res.defer(() => endpoint.close())
  const server = (async () => {
    for await (const incoming of listener) return incoming.accept()
    throw new Error('The QUIC listener ended')
  })()
  const client = await DenoQuic.connectQuic!({
    hostname: HOST,
    port: endpoint.addr.port,
    alpnProtocols: [ALPN],
    caCerts: [certs.ca],
  })
  res.defer(() => client.close())
  return { client, server }
}

async function firstStream(server: Promise<QuicConn>) {
  const { value } = await (await server).incomingBidirectionalStreams.getReader().read()
  if (value === undefined) throw new Error('No stream')
  return value
}

export async function throughput({ quick, signal }: RunOptions): Promise<Measurement> {
  const total = totalBytes(quick)
  await using res = resources(signal)
  const { client, server } = await rawPair(res)
  const counted = (async () => {
    const stream = await firstStream(server)
    let received = 0
    for await (const chunk of stream.readable) {
      received += chunk.byteLength
      if (received >= total) return performance.now()
    }
    throw new Error(`The stream ended after ${received} bytes`)
  })()
  counted.catch(() => {})
  const stream = await client.createBidirectionalStream()
  const writer = stream.writable.getWriter()
  const start = performance.now()
  for (let sent = 0; sent < total; sent += CHUNK.byteLength) {
    await writer.ready
    writer.write(CHUNK).catch(() => {})
  }
  const end = await Promise.race([counted, aborted(signal)])
  return { value: total / MiB / ((end - start) / 1000), seconds: (end - start) / 1000 }
}

export async function pingPong({ quick, signal }: RunOptions): Promise<Measurement> {
  const n = quick ? 500 : 5_000
  await using res = resources(signal)
  const { client, server } = await rawPair(res)
  void (async () => {
    const stream = await firstStream(server)
    const writer = stream.writable.getWriter()
    for await (const chunk of stream.readable) await writer.write(chunk)
  })().catch(() => {})
  const stream = await client.createBidirectionalStream()
  const reader = stream.readable.getReader()
  const writer = stream.writable.getWriter()
  const ping = new Uint8Array(SIZE).fill(7)
  const run = async (): Promise<number> => {
    for (let i = 0; i < n; i++) {
      await writer.write(ping)
      for (let got = 0; got < SIZE; ) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`The stream ended after ${i} round trips`)
        got += value.byteLength
      }
    }
    return performance.now()
  }
  const start = performance.now()
  const end = await Promise.race([run(), aborted(signal)])
  return { value: n / ((end - start) / 1000), seconds: (end - start) / 1000 }
}
