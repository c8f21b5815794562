/**
 * The SMTP command state machine (RFC 5321, with SIZE from RFC 1870,
 * STARTTLS from RFC 3207 and enhanced status codes from RFC 2034/3463).
 * It turns one command line into a reply and, where the conversation
 * changes course, what the connection should do next. It does no I/O.
 */

/** How the worker is set up, from its vars (see worker.ts). */
export interface SmtpConfig {
  /** The name this server gives in its greeting and Received headers. */
  hostname: string
  /** Largest message accepted, in bytes. */
  maxSize: number
  /** Whether to offer STARTTLS (the listener must have a certificate). */
  starttls: boolean
}

/** A reply, and what to do after sending it. */
export interface Action {
  reply: string
  /** `data`: read the message; `starttls`: upgrade; `quit`: close. */
  next?: 'data' | 'starttls' | 'quit'
}

export interface Envelope {
  from: string
  to: string[]
}

/** RFC 5321 4.5.3.1.8: a server must accept at least 100 recipients. */
export const MAX_RECIPIENTS = 100
/** RFC 5321 4.5.3.1.4: a command line is at most 512 octets with its CRLF. */
export const MAX_COMMAND_LINE = 512
/** Bad commands tolerated before the server gives up on a client. */
const MAX_ERRORS = 20

const ADDRESS = /^[^\s<>@]+@[^\s<>@]+$/

/**
 * One connection's SMTP state.
 *
 * @example
 * const session = new Session({ hostname: 'mx.example', maxSize: 1 << 20, starttls: false }, false)
 * session.command('EHLO client.example') // { reply: '250-mx.example ...' }
 */
export class Session {
  readonly config: SmtpConfig
  /** True once the connection is TLS (after STARTTLS). */
  readonly secure: boolean
  /** The name from EHLO/HELO; unset until the client greets. */
  helo: string | undefined
  extended = false
  envelope: Envelope | undefined
  #errors = 0

  constructor(config: SmtpConfig, secure: boolean) {
    this.config = config
    this.secure = secure
  }

  /** "SMTP", "ESMTP" or "ESMTPS", for the Received header. */
  get protocol(): string {
    return this.extended ? (this.secure ? 'ESMTPS' : 'ESMTP') : 'SMTP'
  }

  greeting(): string {
    return `220 ${this.config.hostname} ESMTP sockworker`
  }

  /** Handles one command line (without CRLF). */
  command(line: string): Action {
    const space = line.indexOf(' ')
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase()
    const arg = space < 0 ? '' : line.slice(space + 1).trim()
    const action = this.#dispatch(verb, arg)
    return action.reply.startsWith('50') ? this.#countError(action.reply) : action
  }

  /** The reply to a command line longer than MAX_COMMAND_LINE. */
  tooLong(): Action {
    return this.#countError('500 5.5.2 Line too long')
  }

  /** Ends the transaction, after DATA or RSET. */
  reset(): void {
    this.envelope = undefined
  }

  #dispatch(verb: string, arg: string): Action {
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.#hello(verb, arg)
      case 'MAIL':
        return this.#mail(arg)
      case 'RCPT':
        return this.#rcpt(arg)
      case 'DATA':
        return this.#data(arg)
      case 'RSET':
        if (arg) return { reply: '501 5.5.4 Syntax: RSET' }
        this.reset()
        return { reply: '250 2.0.0 Ok' }
      case 'NOOP':
        return { reply: '250 2.0.0 Ok' }
      case 'QUIT':
        return { reply: `221 2.0.0 ${this.config.hostname} Bye`, next: 'quit' }
      case 'VRFY':
        if (!arg) return { reply: '501 5.5.4 Syntax: VRFY <address>' }
        return { reply: '252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery' }
      case 'HELP':
        return {
          reply: '214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS',
        }
      case 'STARTTLS':
        return this.#starttls(arg)
      case '':
        return { reply: '500 5.5.2 Error: bad syntax' }
      default:
        return { reply: '500 5.5.2 Error: command not recognized' }
    }
  }

  #hello(verb: string, arg: string): Action {
    if (!arg || /\s/.test(arg)) return { reply: `501 5.5.4 Syntax: ${verb} <hostname>` }
    this.helo = arg
    this.extended = verb === 'EHLO'
    this.reset()
    const { hostname, maxSize, starttls } = this.config
    if (verb === 'HELO') return { reply: `250 ${hostname}` }
    const lines = [`${hostname} greets ${arg}`, `SIZE ${maxSize}`, '8BITMIME', 'PIPELINING']
    lines.push('ENHANCEDSTATUSCODES')
    if (starttls && !this.secure) lines.push('STARTTLS')
    const last = lines.length - 1
    return { reply: lines.map((text, i) => `250${i === last ? ' ' : '-'}${text}`).join('\r\n') }
  }

  #mail(arg: string): Action {
    if (!this.helo) return { reply: '503 5.5.1 Error: send EHLO or HELO first' }
    if (this.envelope) return { reply: '503 5.5.1 Error: nested MAIL command' }
    const match = /^FROM:\s*<([^<>\s]*)>(?:\s+(.*))?$/i.exec(arg)
    const from = match?.[1]
    if (from === undefined || (from !== '' && !ADDRESS.test(from))) {
      return { reply: '501 5.5.4 Syntax: MAIL FROM:<address>' }
    }
    for (const param of (match?.[2] ?? '').split(/\s+/).filter(Boolean)) {
      const [key = '', value] = param.toUpperCase().split('=', 2)
      if (key === 'SIZE') {
        if (!value || !/^\d+$/.test(value)) return { reply: '501 5.5.4 Bad SIZE parameter' }
        if (Number(value) > this.config.maxSize) {
          return { reply: '552 5.3.4 Message size exceeds fixed maximum message size' }
        }
      } else if (key === 'BODY' && (value === '7BIT' || value === '8BITMIME')) {
        // Either way the message is stored as the bytes that arrive.
      } else {
        return { reply: `555 5.5.4 Unsupported parameter "${param}"` }
      }
    }
    this.envelope = { from, to: [] }
    return { reply: '250 2.1.0 Ok' }
  }

  #rcpt(arg: string): Action {
    if (!this.envelope) return { reply: '503 5.5.1 Error: need MAIL command' }
    const match = /^TO:\s*<([^<>\s]*)>(?:\s+(.*))?$/i.exec(arg)
    const to = match?.[1]
    if (to === undefined) return { reply: '501 5.5.4 Syntax: RCPT TO:<address>' }
    if (!ADDRESS.test(to) && to.toLowerCase() !== 'postmaster') {
      return { reply: '501 5.1.3 Bad recipient address syntax' }
    }
    if (match?.[2]) return { reply: `555 5.5.4 Unsupported parameter "${match[2]}"` }
    if (this.envelope.to.length >= MAX_RECIPIENTS) {
      return { reply: '452 4.5.3 Error: too many recipients' }
    }
    this.envelope.to.push(to)
    return { reply: '250 2.1.5 Ok' }
  }

  #data(arg: string): Action {
    if (arg) return { reply: '501 5.5.4 Syntax: DATA' }
    if (!this.envelope) return { reply: '503 5.5.1 Error: need MAIL command' }
    if (this.envelope.to.length === 0) return { reply: '503 5.5.1 Error: need RCPT command' }
    return { reply: '354 End data with <CR><LF>.<CR><LF>', next: 'data' }
  }

  #starttls(arg: string): Action {
    if (arg) return { reply: '501 5.5.4 Syntax: STARTTLS' }
    if (this.secure) return { reply: '503 5.5.1 Error: TLS already active' }
    if (!this.config.starttls) return { reply: '502 5.5.1 Error: STARTTLS not offered here' }
    return { reply: '220 2.0.0 Ready to start TLS', next: 'starttls' }
  }

  /** Syntax and sequence errors (50x): broken or hostile clients get a limited number of tries. */
  #countError(reply: string): Action {
    if (++this.#errors < MAX_ERRORS) return { reply }
    return { reply: `421 4.7.0 ${this.config.hostname} Too many errors, closing`, next: 'quit' }
  }
}
