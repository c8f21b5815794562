/**
 * QUIC against TLS over TCP, both through our API: one stream (one
 * connection) carrying the same bytes in 64 KiB writes. Informative: the
 * ratio says what QUIC in userspace costs next to the kernel's TCP and
 * OpenSSL, not a target we can reach by tuning our own code.
 */
import { connect, listen } from '@sockworker/sockets'
import { makeCerts } from '../test/helpers/certs.ts'
import { aborted, HOST, type Measurement, MiB, type RunOptions, resources, shut } from './common.ts'
import { ours as quicThroughput, totalBytes } from './quic-throughput.ts'

export const name = 'quic-vs-tls'
export const figure = 'QUIC (ours) vs TLS over TCP (ours), 1 stream'
export const unit = 'MiB/s'
export const target = 0.1

const CHUNK = new Uint8Array(64 * 1024).fill(1)

/** The baseline here is TLS over TCP through our API. */
export async function baseline({ quick, signal }: RunOptions): Promise<Measurement> {
  const total = totalBytes(quick)
  const certs = await makeCerts()
  await using res = resources(signal)
  const listener = listen({ type: 'tls', hostname: HOST, port: 0, tls: certs.server })
  res.defer(() => listener.close())
  const { port } = await listener.opened
  const counted = (async () => {
    const next = await listener[Symbol.asyncIterator]().next()
    if (next.done) throw new Error('closed')
    res.defer(shut(next.value, signal))
    let received = 0
    for await (const chunk of next.value.readable as ReadableStream<Uint8Array>) {
      received += chunk.byteLength
      if (received >= total) return performance.now()
    }
    throw new Error(`The connection ended after ${received} bytes`)
  })()
  counted.catch(() => {})
  const client = connect(`${HOST}:${port}`, { secureTransport: 'on', tls: { ca: certs.ca } })
  res.defer(shut(client, signal))
  await client.opened
  const writer = client.writable.getWriter()
  const start = performance.now()
  for (let sent = 0; sent < total; sent += CHUNK.byteLength) {
    await writer.ready
    writer.write(CHUNK).catch(() => {})
  }
  const end = await Promise.race([counted, aborted(signal)])
  const seconds = (end - start) / 1000
  return { value: total / MiB / seconds, seconds }
}

export const ours = quicThroughput
