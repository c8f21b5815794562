/**
 * smtp: an SMTP server (RFC 5321) that stores every message it accepts
 * through the storage binding, under `msg:<timestamp>:<id>`.
 *
 *   swaks --server 127.0.0.1:2525 --to you@example.com
 *   swaks --server 127.0.0.1:2525 --to you@example.com --tls --tls-verify=off
 *
 * Vars:
 *   STORE_BINDING  the binding on env to store messages in (default "MAIL")
 *   MAX_SIZE       largest message in bytes (default 1048576; advertised as SIZE)
 *   STARTTLS       "on" to offer STARTTLS: the listener then needs cert and key
 *   HOSTNAME       the name in the greeting and Received headers (default "localhost")
 */
import type { Socket } from '@sockworker/sockets'
import type { Storage } from '../../packages/sockworker/src/storage/types.ts'
import { commandFor } from './command.ts'
import { LineReader } from './lines.ts'
import { concat, MessageBody, traceHeaders } from './message.ts'
import { type Action, Session, type SmtpConfig } from './session.ts'

/** A line this long with no CRLF is not SMTP: the connection is dropped (421). */
const MAX_BUFFERED = 64 * 1024

const encoder = new TextEncoder()

export default {
  async connect(socket: Socket, env: Record<string, unknown>): Promise<void> {
    const config = configFrom(env)
    const storage = env[config.binding] as Storage | undefined
    let conn = new Connection(socket)
    let session = new Session(config, false)
    try {
      await conn.send(session.greeting())
      while ((await converse(conn, session, storage)) === 'starttls') {
        // RFC 3207: anything the client pipelined after STARTTLS is dropped
        // (it arrived in plaintext), and the session starts over: EHLO again.
        conn = conn.upgrade()
        session = new Session(config, true)
      }
    } catch {
      // The client went away mid-reply, or failed the TLS handshake.
    } finally {
      await conn.socket.close().catch(() => {})
    }
  },
}

/** One socket with its line reader and writer; replaced by `upgrade()`. */
class Connection {
  readonly socket: Socket
  readonly lines: LineReader
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>

  constructor(socket: Socket) {
    this.socket = socket
    this.lines = new LineReader(socket.readable.getReader(), MAX_BUFFERED)
    this.#writer = socket.writable.getWriter()
  }

  send(reply: string): Promise<void> {
    return this.#writer.write(encoder.encode(`${reply}\r\n`))
  }

  /** Hands the connection to TLS (the listener's certificate) and continues on the new socket. */
  upgrade(): Connection {
    this.lines.release()
    this.#writer.releaseLock()
    try {
      return new Connection(this.socket.startTls())
    } catch (error) {
      // STARTTLS=on on a listener without cert and key: say what to fix.
      console.error(
        `smtp: STARTTLS failed: ${error}. Give the listener cert and key, or set STARTTLS=off`,
      )
      throw error
    }
  }
}

/** Serves commands until the client quits, leaves, or asks for STARTTLS. */
async function converse(
  conn: Connection,
  session: Session,
  storage: Storage | undefined,
): Promise<'quit' | 'closed' | 'starttls'> {
  for (;;) {
    const line = await conn.lines.next()
    if (line === undefined) return 'closed'
    let action = commandFor(session, line)
    if (action.next === 'data' && !storage) {
      action = { reply: '451 4.3.0 Storage unavailable, try again later' }
    }
    await conn.send(action.reply)
    if (action.next === 'data') {
      const result = await receive(conn, session, storage!)
      if (result === undefined) return 'closed'
      await conn.send(result.reply)
      if (result.next === 'quit') return 'quit'
    } else if (action.next) {
      return action.next
    }
  }
}

/** Reads the message after 354 and stores it; `undefined` if the client left mid-message. */
async function receive(
  conn: Connection,
  session: Session,
  storage: Storage,
): Promise<Action | undefined> {
  const body = new MessageBody(session.config.maxSize)
  for (;;) {
    const line = await conn.lines.next()
    if (line === undefined) return undefined
    if (line === 'overflow') return { reply: '421 4.7.0 Line too long, closing', next: 'quit' }
    if (body.add(line)) break
  }
  const envelope = session.envelope!
  session.reset()
  if (body.tooBig) return { reply: '552 5.3.4 Message size exceeds fixed maximum message size' }
  const id = randomId()
  const date = new Date()
  const trace = traceHeaders({
    ...envelope,
    id,
    date,
    helo: session.helo ?? 'unknown',
    remoteAddress: conn.socket.info.remoteAddress,
    hostname: session.config.hostname,
    protocol: session.protocol,
  })
  try {
    await storage.put(`msg:${date.getTime()}:${id}`, concat([encoder.encode(trace), body.bytes()]))
  } catch {
    return { reply: '451 4.3.0 Storage unavailable, try again later' }
  }
  return { reply: `250 2.0.0 Ok: queued as ${id}` }
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** The worker's vars, checked; a bad value fails every connection with a message saying what to fix. */
function configFrom(env: Record<string, unknown>): SmtpConfig & { binding: string } {
  const maxSize = env['MAX_SIZE'] === undefined ? 1024 * 1024 : Number(env['MAX_SIZE'])
  if (!Number.isSafeInteger(maxSize) || maxSize <= 0) {
    throw new Error(
      `MAX_SIZE "${env['MAX_SIZE']}" is not a size in bytes: use e.g. MAX_SIZE=1048576`,
    )
  }
  const starttls = env['STARTTLS'] ?? 'off'
  if (starttls !== 'on' && starttls !== 'off') {
    throw new Error(`STARTTLS "${starttls}" should be "on" or "off"`)
  }
  return {
    hostname: typeof env['HOSTNAME'] === 'string' ? env['HOSTNAME'] : 'localhost',
    maxSize,
    starttls: starttls === 'on',
    binding: typeof env['STORE_BINDING'] === 'string' ? env['STORE_BINDING'] : 'MAIL',
  }
}
