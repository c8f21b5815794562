/**
 * The load the runtime benchmarks put on an echo server: raw `node:net`
 * clients, the same for the baseline and for sockworker, so the only
 * difference measured is the server.
 */
import { once } from 'node:events'
import net from 'node:net'

const HOST = '127.0.0.1'

async function open(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: HOST, noDelay: true })
  await once(socket, 'connect')
  return socket
}

/** Bytes per second echoed back on one connection, sent in 64 KiB writes. */
export async function throughput(port: number, total: number): Promise<number> {
  const socket = await open(port)
  const chunk = Buffer.alloc(64 * 1024, 1)
  const started = performance.now()
  let received = 0
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (data: Buffer) => {
      received += data.byteLength
      if (received >= total) resolve()
    })
    socket.once('error', reject)
  })
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    if (!socket.write(chunk)) await once(socket, 'drain')
  }
  await done
  const seconds = (performance.now() - started) / 1000
  socket.destroy()
  return total / seconds
}

/** Round trips per second of 64-byte messages over `connections` connections at once. */
export async function pingPong(
  port: number,
  connections: number,
  tripsEach: number,
): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(port)))
  const ping = Buffer.alloc(64, 7)
  const started = performance.now()
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          let trips = 0
          let got = 0
          socket.on('data', (data: Buffer) => {
            got += data.byteLength
            if (got < 64) return
            got -= 64
            if (++trips === tripsEach) resolve()
            else socket.write(ping)
          })
          socket.once('error', reject)
          socket.write(ping)
        }),
    ),
  )
  const seconds = (performance.now() - started) / 1000
  for (const socket of sockets) socket.destroy()
  return (connections * tripsEach) / seconds
}

/** Connections per second: connect, 16 bytes each way, close; `concurrency` at a time. */
export async function connectionRate(
  port: number,
  total: number,
  concurrency: number,
): Promise<number> {
  const message = Buffer.alloc(16, 3)
  let next = 0
  const one = async () => {
    const socket = await open(port)
    const echoed = new Promise<void>((resolve, reject) => {
      let got = 0
      socket.on('data', (data: Buffer) => {
        got += data.byteLength
        if (got >= 16) resolve()
      })
      socket.once('error', reject)
    })
    socket.write(message)
    await echoed
    socket.end()
    await once(socket, 'close')
  }
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await one()
    }),
  )
  return total / ((performance.now() - started) / 1000)
}

/** Opens `count` connections that each echo one byte, and keeps them open. */
export async function holdIdle(port: number, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = []
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, async () => {
        const socket = await open(port)
        socket.write(Buffer.of(1))
        await once(socket, 'data')
        return socket
      }),
    )
    sockets.push(...batch)
  }
  return sockets
}
