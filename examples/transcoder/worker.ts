/**
 * transcoder: a protocol transcoder. A WebSocket server, written over the
 * raw TCP socket, that bridges each WebSocket client to a TCP connection to
 * `env.TARGET` (`host:port`): binary (and text) messages become TCP bytes,
 * and TCP bytes come back as binary messages.
 *
 *   node -e "const ws = new WebSocket('ws://127.0.0.1:7002'); ws.onopen = () => ws.send('hi\n');
 *     ws.onmessage = async (e) => { console.log(await e.data.text()); ws.close() }"
 *
 * A request that is not a WebSocket upgrade gets 400; a target that cannot be
 * reached, 502. Frames that break RFC 6455 close the connection with 1002,
 * frames or messages over 1 MiB with 1009.
 */
import { connect, type Socket } from '@sockworker/sockets'
import { bridge } from './bridge.ts'
import { acceptUpgrade, errorResponse, HandshakeError, readHead } from './handshake.ts'

let connections = 0

export default {
  async connect(socket: Socket, env: Record<string, unknown>): Promise<void> {
    const id = ++connections
    const log = (message: string) => console.log(`transcoder #${id} ${message}`)
    const reader = socket.readable.getReader()
    const writer = socket.writable.getWriter()
    let upstream: Socket | undefined
    try {
      const opened = await handshake(reader, writer, String(env['TARGET'] ?? ''))
      if (opened === undefined) return
      upstream = opened.upstream
      log(
        `open: WebSocket ${socket.info.remoteAddress}:${socket.info.remotePort} -> TCP ${opened.target}`,
      )
      await bridge({ reader, writer, rest: opened.rest, upstream, log })
    } catch (error) {
      if (!(error instanceof HandshakeError)) return // the client went away
      log(`refused: ${error.status} ${error.message}`)
      await writer.write(new TextEncoder().encode(errorResponse(error))).catch(() => {})
      await writer.close().catch(() => {})
    } finally {
      await upstream?.close().catch(() => {})
      await socket.close().catch(() => {})
    }
  },
}

/**
 * Reads the upgrade request, connects to the target, and answers 101.
 * Resolves with the target socket and any bytes read past the request, or
 * undefined if the client left first; throws a HandshakeError to refuse.
 */
async function handshake(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  target: string,
): Promise<{ upstream: Socket; target: string; rest: Uint8Array } | undefined> {
  let buffered = new Uint8Array(0)
  for (;;) {
    const found = readHead(buffered)
    if (found !== undefined) {
      const response = await acceptUpgrade(found.head)
      const upstream = await connectTarget(target)
      await writer.write(new TextEncoder().encode(response))
      return { upstream, target, rest: found.rest }
    }
    const { done, value } = await reader.read()
    if (done) return undefined
    const joined = new Uint8Array(buffered.length + value.length)
    joined.set(buffered)
    joined.set(value, buffered.length)
    buffered = joined
  }
}

/** Opens the TCP connection for one WebSocket; a failure is a 502 to the client. */
async function connectTarget(target: string): Promise<Socket> {
  if (target === '') throw new HandshakeError(502, 'No TARGET configured (give one as host:port)')
  let upstream: Socket | undefined
  try {
    upstream = connect(target, { allowHalfOpen: true })
    await upstream.opened
    return upstream
  } catch (error) {
    await upstream?.close().catch(() => {})
    throw new HandshakeError(
      502,
      `Cannot reach ${target}: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
}
