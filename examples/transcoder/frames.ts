/**
 * WebSocket frames (RFC 6455 section 5), server side: client frames are
 * parsed (and must be masked), fragmented messages are put back together,
 * and server frames are written unmasked. Protocol violations throw a
 * CloseError carrying the close code the RFC asks for.
 */

export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const

/** A violation: the connection is closed with `code` (1002 protocol, 1007 bad UTF-8, 1009 too big). */
export class CloseError extends Error {
  readonly code: number

  constructor(code: number, reason: string) {
    super(reason)
    this.code = code
  }
}

/** A whole message (data frames joined) or a control frame. */
export interface Message {
  opcode: number
  payload: Uint8Array
}

/**
 * Parses client frames from a byte stream that arrives in arbitrary chunks
 * and yields messages: fragments are joined, control frames come through
 * as they arrive (they may sit between fragments).
 *
 * @example
 * const reader = new MessageReader(1 << 20)
 * reader.push(chunk)
 * for (let message = reader.next(); message; message = reader.next()) handle(message)
 */
export class MessageReader {
  #buffer: Uint8Array = new Uint8Array(0)
  #maxMessage: number
  #fragments: Uint8Array[] = []
  #fragmentBytes = 0
  #fragmentOpcode: number | undefined

  /** `maxMessage`: the largest frame or joined message accepted (larger: 1009). */
  constructor(maxMessage: number) {
    this.#maxMessage = maxMessage
  }

  push(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.#buffer.length + chunk.length)
    joined.set(this.#buffer)
    joined.set(chunk, this.#buffer.length)
    this.#buffer = joined
  }

  /** The next complete message, or undefined until more bytes arrive. */
  next(): Message | undefined {
    for (;;) {
      const frame = this.#nextFrame()
      if (frame === undefined) return undefined
      const message = this.#assemble(frame)
      if (message !== undefined) return message
    }
  }

  #nextFrame(): { fin: boolean; opcode: number; payload: Uint8Array } | undefined {
    const bytes = this.#buffer
    if (bytes.length < 2) return undefined
    const first = bytes[0] ?? 0
    const second = bytes[1] ?? 0
    const fin = (first & 0x80) !== 0
    const opcode = first & 0x0f
    if ((first & 0x70) !== 0) throw new CloseError(1002, 'Reserved bits set without an extension')
    if (!Object.values(Opcode).includes(opcode as never)) {
      throw new CloseError(1002, `Unknown opcode ${opcode}`)
    }
    // Checked before the length: an unmasked frame is refused at once.
    if ((second & 0x80) === 0) throw new CloseError(1002, 'Client frames must be masked')
    const control = opcode >= 0x8
    let length = second & 0x7f
    let offset = 2
    if (control && (!fin || length > 125)) {
      throw new CloseError(1002, 'Control frames must be whole and at most 125 bytes')
    }
    if (length === 126) {
      if (bytes.length < 4) return undefined
      length = ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)
      offset = 4
    } else if (length === 127) {
      if (bytes.length < 10) return undefined
      const view = new DataView(bytes.buffer, bytes.byteOffset + 2, 8)
      const big = view.getBigUint64(0)
      if (big >> 63n !== 0n) throw new CloseError(1002, 'Frame length has its top bit set')
      length = big > BigInt(this.#maxMessage) ? Number.POSITIVE_INFINITY : Number(big)
      offset = 10
    }
    if (length > this.#maxMessage) {
      throw new CloseError(1009, `Frame of ${length} bytes is over the ${this.#maxMessage} limit`)
    }
    if (bytes.length < offset + 4 + length) return undefined
    const mask = bytes.subarray(offset, offset + 4)
    const payload = bytes.slice(offset + 4, offset + 4 + length)
    for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i & 3] ?? 0)
    this.#buffer = bytes.subarray(offset + 4 + length)
    return { fin, opcode, payload }
  }

  #assemble(frame: { fin: boolean; opcode: number; payload: Uint8Array }): Message | undefined {
    const { fin, opcode, payload } = frame
    if (opcode >= 0x8) return { opcode, payload }
    if (opcode === Opcode.continuation) {
      if (this.#fragmentOpcode === undefined) {
        throw new CloseError(1002, 'Continuation frame without a message to continue')
      }
    } else if (this.#fragmentOpcode !== undefined) {
      throw new CloseError(1002, 'New data frame before the fragmented message ended')
    } else {
      this.#fragmentOpcode = opcode
    }
    this.#fragmentBytes += payload.length
    if (this.#fragmentBytes > this.#maxMessage) {
      throw new CloseError(1009, `Message is over the ${this.#maxMessage} byte limit`)
    }
    this.#fragments.push(payload)
    if (!fin) return undefined
    const message = { opcode: this.#fragmentOpcode, payload: concat(this.#fragments) }
    this.#fragments = []
    this.#fragmentBytes = 0
    this.#fragmentOpcode = undefined
    if (message.opcode === Opcode.text && !isUtf8(message.payload)) {
      throw new CloseError(1007, 'Text message is not valid UTF-8')
    }
    return message
  }
}

/**
 * One unmasked server frame, FIN set.
 *
 * @example
 * encodeFrame(Opcode.binary, new Uint8Array([1, 2, 3]))
 */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.length
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10
  const frame = new Uint8Array(header + length)
  frame[0] = 0x80 | opcode
  if (length < 126) frame[1] = length
  else if (length < 65536) {
    frame[1] = 126
    new DataView(frame.buffer).setUint16(2, length)
  } else {
    frame[1] = 127
    new DataView(frame.buffer).setBigUint64(2, BigInt(length))
  }
  frame.set(payload, header)
  return frame
}

/**
 * A close frame's payload: the code, then a UTF-8 reason (cut to fit 125 bytes).
 *
 * @example
 * encodeFrame(Opcode.close, closePayload(1000, 'bye'))
 */
export function closePayload(code: number, reason = ''): Uint8Array {
  const text = new TextEncoder().encode(reason).subarray(0, 123)
  const payload = new Uint8Array(2 + text.length)
  new DataView(payload.buffer).setUint16(0, code)
  payload.set(text, 2)
  return payload
}

/**
 * The code of a client's close frame, checked: none (1005 for "no code"),
 * or one a peer may send (1000-1003, 1007-1011, 3000-4999).
 */
export function readCloseCode(payload: Uint8Array): number {
  if (payload.length === 0) return 1005
  if (payload.length === 1) throw new CloseError(1002, 'Close frame with a 1-byte payload')
  const code = ((payload[0] ?? 0) << 8) | (payload[1] ?? 0)
  const valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011)
  if (!valid && !(code >= 3000 && code <= 4999)) {
    throw new CloseError(1002, `Close code ${code} may not be sent by a peer`)
  }
  if (!isUtf8(payload.subarray(2))) throw new CloseError(1007, 'Close reason is not valid UTF-8')
  return code
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0]
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
