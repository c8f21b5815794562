/**
 * The Deno baselines: the same work as `tcp-throughput.ts` and `ping-pong.ts`,
 * written against Deno's own `Deno.connect()` / `Deno.listen()`, as a Deno
 * programmer would without our API.
 */
import { type Conn, Deno } from '../../packages/sockets/src/adapters/deno/deno-api.ts'
import { aborted, HOST, ignore, KiB, type Measurement, MiB, type RunOptions } from '../common.ts'

const CHUNK = 64 * KiB
const RING = 16
const SIZE = 64

async function writeAll(conn: Conn, bytes: Uint8Array): Promise<void> {
  let offset = await conn.write(bytes)
  while (offset < bytes.byteLength) offset += await conn.write(bytes.subarray(offset))
}

/** A listener whose first connection is handed over; `close()` releases both. */
async function listenForOne() {
  const listener = Deno.listen({ hostname: HOST, port: 0 })
  const first = listener.accept()
  first.catch(ignore)
  const conns: Conn[] = []
  const close = () => {
    for (const conn of conns) {
      try {
        conn.close()
      } catch {
        // Already closed.
      }
    }
    listener.close()
  }
  return { port: listener.addr.port, first, conns, close }
}

/** Reads into one buffer, reused: the fastest a Deno program can count bytes. */
export function throughput(options: RunOptions): Promise<Measurement> {
  return receive(options, false)
}

/**
 * Reads each chunk into a new buffer, as a reader that keeps what it reads
 * must, and as `conn.readable` does: the fair baseline for an API that hands
 * every chunk over.
 */
export function throughputOwned(options: RunOptions): Promise<Measurement> {
  return receive(options, true)
}

async function receive({ quick, signal }: RunOptions, owned: boolean): Promise<Measurement> {
  const total = quick ? 64 * MiB : 1024 * MiB
  const server = await listenForOne()
  try {
    const counted = (async () => {
      const conn = await server.first
      server.conns.push(conn)
      let buffer = new Uint8Array(CHUNK)
      let count = 0
      while (count < total) {
        if (owned) buffer = new Uint8Array(CHUNK)
        const n = await conn.read(buffer)
        if (n === null) throw new Error(`The stream ended after ${count} of ${total} bytes`)
        count += n
      }
      return performance.now()
    })()
    const client = await Deno.connect({ hostname: HOST, port: server.port })
    server.conns.push(client)
    client.setNoDelay(true)
    const ring = Array.from({ length: RING }, (_, i) => new Uint8Array(CHUNK).fill(i + 1))
    const send = async () => {
      for (let sent = 0, i = 0; sent < total; sent += CHUNK, i++) {
        await writeAll(client, ring[i % RING]!)
      }
      await client.closeWrite()
    }
    const start = performance.now()
    const [, end] = await Promise.race([Promise.all([send(), counted]), aborted(signal)])
    const seconds = (end - start) / 1000
    return { value: total / MiB / seconds, seconds }
  } finally {
    server.close()
  }
}

export async function pingPong({ quick, signal }: RunOptions): Promise<Measurement> {
  const n = quick ? 2_000 : 20_000
  const server = await listenForOne()
  try {
    const echoed = (async () => {
      const conn = await server.first
      server.conns.push(conn)
      const buffer = new Uint8Array(CHUNK)
      for (;;) {
        const got = await conn.read(buffer)
        if (got === null) return
        await writeAll(conn, buffer.subarray(0, got))
      }
    })()
    echoed.catch(ignore)
    const client = await Deno.connect({ hostname: HOST, port: server.port })
    server.conns.push(client)
    client.setNoDelay(true)
    const ping = new Uint8Array(SIZE).fill(7)
    const buffer = new Uint8Array(SIZE)
    const run = async () => {
      for (let i = 0; i < n; i++) {
        await writeAll(client, ping)
        for (let got = 0; got < SIZE; ) {
          const read = await client.read(buffer.subarray(got))
          if (read === null) throw new Error(`The stream ended after ${i} round trips`)
          got += read
        }
      }
      return performance.now()
    }
    const start = performance.now()
    const end = await Promise.race([run(), aborted(signal)])
    const seconds = (end - start) / 1000
    return { value: n / seconds, seconds }
  } finally {
    server.close()
  }
}
