/**
 * The WebSocket ↔ TCP bridge once the handshake is done: every text or
 * binary message from the client goes to the TCP service as its bytes, and
 * every chunk the service sends comes back as one binary message.
 */
import type { Socket } from '@sockworker/sockets'
import {
  CloseError,
  closePayload,
  encodeFrame,
  MessageReader,
  Opcode,
  readCloseCode,
} from './frames.ts'

/** The largest frame or message accepted from a client (larger: close 1009). */
export const maxMessageBytes = 1 << 20
/** How long to wait for the client's answer to our close frame. */
const closeWaitMs = 1000

export interface BridgeEnds {
  reader: ReadableStreamDefaultReader<Uint8Array>
  writer: WritableStreamDefaultWriter<Uint8Array>
  /** Bytes the client sent after its handshake, already read. */
  rest: Uint8Array
  upstream: Socket
  log: (message: string) => void
}

/**
 * Runs the bridge until either side closes; resolves once the close
 * handshake is over (or has timed out). The caller closes both sockets.
 */
export async function bridge(ends: BridgeEnds): Promise<void> {
  const { writer, upstream, log } = ends
  const upstreamWriter = upstream.writable.getWriter()
  let closeSent = false
  const send = (opcode: number, payload: Uint8Array) => writer.write(encodeFrame(opcode, payload))
  const sendClose = async (code: number, reason: string) => {
    if (closeSent) return
    closeSent = true
    log(`close ${code}${reason ? ` (${reason})` : ''}`)
    // 1005 means "no code": the reply to a close without one is empty too.
    await send(Opcode.close, code === 1005 ? new Uint8Array(0) : closePayload(code, reason))
    await writer.close()
  }
  const toClient = (async () => {
    const reader = upstream.readable.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done || closeSent) break
        await send(Opcode.binary, value)
      }
      await sendClose(1000, 'The TCP service closed the connection')
    } catch {
      await sendClose(1011, 'The TCP service failed').catch(() => {})
    }
  })()
  const toService = fromClient(ends, {
    forward: (payload) => (closeSent ? undefined : upstreamWriter.write(payload)),
    pong: (payload) => send(Opcode.pong, payload),
    sendClose,
    closeSent: () => closeSent,
  }).catch(() => {})
  const first = await Promise.race([toClient.then(() => 'service'), toService.then(() => 'client')])
  // The service ended first: give the client a moment to answer our close.
  if (first === 'service') await Promise.race([toService, delay(closeWaitMs)])
  closeSent = true
  await upstream.close().catch(() => {})
}

interface ClientActions {
  forward(payload: Uint8Array): Promise<void> | undefined
  pong(payload: Uint8Array): Promise<void>
  sendClose(code: number, reason: string): Promise<void>
  closeSent(): boolean
}

/** Reads client frames until its close frame, its end, or a violation (answered with a close). */
async function fromClient(ends: BridgeEnds, actions: ClientActions): Promise<void> {
  const { reader, rest } = ends
  const messages = new MessageReader(maxMessageBytes)
  messages.push(rest)
  try {
    for (;;) {
      for (let message = messages.next(); message; message = messages.next()) {
        if (message.opcode === Opcode.close) {
          await actions.sendClose(readCloseCode(message.payload), '')
          return
        }
        if (message.opcode === Opcode.ping) await actions.pong(message.payload)
        else if (message.opcode !== Opcode.pong) await actions.forward(message.payload)
      }
      const { done, value } = await reader.read()
      if (done) return
      messages.push(value)
    }
  } catch (error) {
    if (!(error instanceof CloseError) || actions.closeSent()) throw error
    await actions.sendClose(error.code, error.message)
    // Fail the connection (RFC 6455 7.1.7), once the client has read our close.
    await Promise.race([drain(reader), delay(closeWaitMs)])
  }
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  for (;;) if ((await reader.read()).done) return
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.())
}
