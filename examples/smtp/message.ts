/**
 * The DATA phase: lines up to a lone ".", with dot-stuffing undone
 * (RFC 5321 4.5.2), counted against the size limit, and the trace headers
 * the receiving server adds in front (RFC 5321 4.4).
 */

const DOT = 0x2e
const CRLF = new Uint8Array([0x0d, 0x0a])

/**
 * Collects a message's lines. Past `maxSize` it keeps counting but stops
 * keeping bytes, so the client can finish sending and then hear 552.
 *
 * @example
 * const body = new MessageBody(1024 * 1024)
 * while (!body.add(await nextLine())) {}
 * if (!body.tooBig) store(body.bytes())
 */
export class MessageBody {
  readonly maxSize: number
  size = 0
  #parts: Uint8Array[] = []

  constructor(maxSize: number) {
    this.maxSize = maxSize
  }

  get tooBig(): boolean {
    return this.size > this.maxSize
  }

  /** Adds one line (without its CRLF); returns true if it was the terminating ".". */
  add(line: Uint8Array): boolean {
    if (line.length === 1 && line[0] === DOT) return true
    // A leading dot was doubled by the client so that no text line reads ".".
    const text = line[0] === DOT ? line.subarray(1) : line
    this.size += text.length + CRLF.length
    if (this.tooBig) this.#parts = []
    else this.#parts.push(text.slice(), CRLF)
    return false
  }

  /** The message, every line ending in CRLF. */
  bytes(): Uint8Array {
    return concat(this.#parts)
  }
}

/** What the trace headers say about a transaction. */
export interface Trace {
  id: string
  /** The name the client gave in EHLO/HELO. */
  helo: string
  remoteAddress: string | undefined
  hostname: string
  /** "SMTP" after HELO, "ESMTP" after EHLO, "ESMTPS" over TLS (RFC 3848). */
  protocol: string
  from: string
  to: string[]
  date: Date
}

/**
 * `Return-Path:` (this is the final delivery) and `Received:` lines.
 *
 * @example
 * traceHeaders({ id: 'a1', helo: 'client.example', remoteAddress: '127.0.0.1', hostname: 'mx',
 *   protocol: 'ESMTP', from: 'a@x', to: ['b@y'], date: new Date() })
 */
export function traceHeaders(trace: Trace): string {
  const peer = trace.remoteAddress ? ` ([${trace.remoteAddress}])` : ''
  const recipient = trace.to.length === 1 ? `\r\n\tfor <${trace.to[0]}>` : ''
  return (
    `Return-Path: <${trace.from}>\r\n` +
    `Received: from ${trace.helo}${peer}\r\n` +
    `\tby ${trace.hostname} with ${trace.protocol} id ${trace.id}${recipient};\r\n` +
    `\t${rfc5322Date(trace.date)}\r\n`
  )
}

/** "Thu, 26 Nov 2026 11:39:29 +0000" */
function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000')
}

/**
 * Joins byte arrays into one.
 *
 * @example
 * concat([new Uint8Array([1]), new Uint8Array([2, 3])]) // Uint8Array [1, 2, 3]
 */
export function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
