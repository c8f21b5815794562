/**
 * MQTT over WebSocket (MQTT 3.1.1 §6), on the same listener as plain MQTT:
 * a connection whose first byte is "G" (an HTTP GET) gets the WebSocket
 * handshake, with the subprotocol "mqtt" when the client asks for it, and
 * the broker then reads and writes MQTT bytes carried in binary frames. Any
 * other first byte is MQTT itself. The frame codec and the handshake are
 * the transcoder example's (examples/transcoder), imported on the first
 * WebSocket connection. Under `serve`, the sandbox lets a worker read its
 * own folder only, unless the config adds the transcoder's folder
 * (`[workers.sandbox] read = ["transcoder"]`); without it the import fails,
 * the handshake is refused with 501 and a log line, and plain MQTT is
 * unaffected. See the README.
 */
import type { Socket } from '@sockworker/sockets'

type Frames = typeof import('../transcoder/frames.ts')
type Handshake = typeof import('../transcoder/handshake.ts')
type Codec = Frames & Handshake

let codec: Promise<Codec> | undefined
const loadCodec = () =>
  (codec ??= Promise.all([
    import('../transcoder/frames.ts'),
    import('../transcoder/handshake.ts'),
  ]).then(([frames, handshake]) => ({ ...frames, ...handshake })))

/** What the broker reads MQTT from and writes MQTT to. */
export interface ByteStreams {
  readable: ReadableStream<Uint8Array>
  writable: WritableStream<Uint8Array>
}

/** The largest WebSocket frame or message accepted; the broker's packet limit is lower. */
const MAX_MESSAGE_BYTES = 1 << 20
const GET = 0x47

/**
 * The MQTT byte streams of a connection: the socket's own, or, after a
 * WebSocket handshake, streams that unwrap and wrap binary frames.
 * Resolves `undefined` when the connection ended before or during a
 * handshake (a refused one has had its HTTP error response).
 *
 * @example
 * const streams = await mqttStreams(socket)
 * if (streams) await new Connection(streams, retained).run()
 */
export async function mqttStreams(socket: Socket): Promise<ByteStreams | undefined> {
  const reader = socket.readable.getReader()
  const first = await reader.read()
  if (first.done) return undefined
  if (first.value[0] !== GET) {
    return { readable: prepend(first.value, reader), writable: socket.writable }
  }
  const writer = socket.writable.getWriter()
  let ws: Codec
  try {
    ws = await loadCodec()
  } catch (error) {
    codec = undefined
    console.error(`mqtt: MQTT over WebSocket is unavailable here: ${error}`)
    const body = 'MQTT over WebSocket needs examples/transcoder: add it to [workers.sandbox] read\n'
    const response = `HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`
    await writer.write(new TextEncoder().encode(response)).catch(() => {})
    await writer.close().catch(() => {})
    return undefined
  }
  const { acceptUpgrade, errorResponse, HandshakeError, readHead } = ws
  let bytes = first.value
  try {
    for (;;) {
      const found = readHead(bytes)
      if (found) {
        const response = await acceptUpgrade(found.head)
        const wanted = (found.head.headers.get('sec-websocket-protocol') ?? '').split(',')
        const protocol = wanted.some((p) => p.trim() === 'mqtt')
          ? 'Sec-WebSocket-Protocol: mqtt\r\n'
          : ''
        await writer.write(new TextEncoder().encode(response.slice(0, -2) + protocol + '\r\n'))
        return frames(ws, found.rest, reader, writer)
      }
      const more = await reader.read()
      if (more.done) return undefined
      bytes = concat(bytes, more.value)
    }
  } catch (error) {
    if (error instanceof HandshakeError) {
      await writer.write(new TextEncoder().encode(errorResponse(error))).catch(() => {})
    }
    await writer.close().catch(() => {})
    return undefined
  }
}

/** The socket's readable, with `head` (already read) put back in front. */
function prepend(
  head: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let sent = false
  return new ReadableStream({
    async pull(controller) {
      if (!sent) {
        sent = true
        return controller.enqueue(head)
      }
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
}

/** MQTT bytes out of binary frames, and into them; pings answered, a close frame ends it. */
function frames(
  ws: Codec,
  rest: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
): ByteStreams {
  const { CloseError, closePayload, encodeFrame, MessageReader, Opcode } = ws
  const messages = new MessageReader(MAX_MESSAGE_BYTES)
  messages.push(rest)
  let closed = false
  const sendClose = async (code: number, reason = '') => {
    if (closed) return
    closed = true
    await writer.write(encodeFrame(Opcode.close, closePayload(code, reason))).catch(() => {})
  }
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let message: ReturnType<InstanceType<Frames['MessageReader']>['next']>
        try {
          message = messages.next()
        } catch (error) {
          if (!(error instanceof CloseError)) throw error
          await sendClose(error.code, error.message)
          return controller.close()
        }
        if (message?.opcode === Opcode.binary) return controller.enqueue(message.payload)
        if (message?.opcode === Opcode.ping) {
          await writer.write(encodeFrame(Opcode.pong, message.payload))
          continue
        }
        if (message?.opcode === Opcode.close) {
          await sendClose(1000)
          return controller.close()
        }
        if (message?.opcode === Opcode.text) {
          await sendClose(1003, 'MQTT over WebSocket takes binary frames (§6.0)')
          return controller.close()
        }
        if (message !== undefined) continue // a pong
        const { done, value } = await reader.read()
        if (done) return controller.close()
        messages.push(value)
      }
    },
    cancel: (reason) => reader.cancel(reason),
  })
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => (closed ? undefined : writer.write(encodeFrame(Opcode.binary, chunk))),
    async close() {
      await sendClose(1000)
      await writer.close()
    },
    abort: (reason) => writer.abort(reason),
  })
  return { readable, writable }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length)
  joined.set(a)
  joined.set(b, a.length)
  return joined
}
