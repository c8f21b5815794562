/**
 * A SIP user agent server (RFC 3261) that answers every call at once: the
 * transaction and dialog state of one UDP flow (one peer address and port).
 */
import {
  formatResponse,
  header,
  parseCseq,
  type Request,
  type ResponseParts,
  tagOf,
  topBranch,
} from './message.ts'

/** Where this server is reached: it goes into Contact and the SDP answer. */
export interface Local {
  host: string
  port: number
}

const ALLOW = 'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS'
// Section 17.2: a server transaction lives 64*T1 = 32 s after its final
// response, to absorb retransmissions of the request.
const TRANSACTION_MS = 32_000
// Bounds the state one peer can make this server keep.
const MAX_ENTRIES = 1024
// Section 13.3.1.4: a 2xx to INVITE is sent again at T1, 2*T1, ... (at most
// T2 apart) until its ACK comes, for 64*T1. UDP may lose either of them.
const T1 = 500
const T2 = 4000

/**
 * The state of one flow. `handle` takes a request and returns the datagrams
 * to send back, in order (none for an ACK).
 *
 * @example
 * const uas = new Uas({ host: '127.0.0.1', port: 5060 }, (bytes) => void writer.write(bytes))
 * for (const bytes of uas.handle(request)) await writer.write(bytes)
 */
export class Uas {
  #local: Local
  #now: () => number
  /** Transaction key → its final response, to send again when the request is retransmitted. */
  #transactions = new Map<string, { response: Uint8Array; at: number }>()
  /** Call-IDs of confirmed or early dialogs, so that BYE can tell a call it knows. */
  #dialogs = new Set<string>()
  /** `Call-ID CSeq-number` of each 200 OK to INVITE still waiting for its ACK → its timer. */
  #unacked = new Map<string, ReturnType<typeof setTimeout>>()
  #resend: (bytes: Uint8Array) => void

  /** `resend` sends a 2xx again from a timer, between requests. */
  constructor(local: Local, resend: (bytes: Uint8Array) => void, now: () => number = Date.now) {
    this.#local = local
    this.#resend = resend
    this.#now = now
  }

  /** Stops the retransmission timers, when the flow ends. */
  close(): void {
    for (const timer of this.#unacked.values()) clearTimeout(timer)
    this.#unacked.clear()
  }

  /** The responses to one request, in the order to send them. */
  handle(request: Request): Uint8Array[] {
    if (request.problem !== undefined) {
      // Warning 399 (miscellaneous) tells the client what to fix.
      const warning = `Warning: 399 ${this.#local.host} "${request.problem}"`
      return [formatResponse(request, { status: 400, headers: [warning] })]
    }
    if (request.version !== 'SIP/2.0') return [formatResponse(request, { status: 505 })]
    // An ACK gets no response: for a 2xx it ends the INVITE's handshake, for
    // anything else it is absorbed by the transaction (section 17.2.1).
    if (request.method === 'ACK') {
      const key = `${header(request, 'call-id')} ${parseCseq(header(request, 'cseq') ?? '')?.number}`
      clearTimeout(this.#unacked.get(key))
      this.#unacked.delete(key)
      return []
    }
    const key = this.#key(request, request.method)
    const done = this.#transactions.get(key)
    if (done !== undefined && this.#now() - done.at < TRANSACTION_MS) return [done.response]
    const responses = this.#answer(request)
    const final = responses.at(-1)
    if (final !== undefined) this.#remember(key, final)
    return responses
  }

  #answer(request: Request): Uint8Array[] {
    const callId = header(request, 'call-id') ?? ''
    switch (request.method) {
      case 'INVITE':
        return this.#invite(request, callId)
      case 'BYE':
        if (!this.#dialogs.delete(callId)) return [formatResponse(request, { status: 481 })]
        return [formatResponse(request, { status: 200 })]
      case 'OPTIONS':
        return [formatResponse(request, { status: 200, headers: [ALLOW, this.#contact()] })]
      case 'CANCEL':
        // Every INVITE is answered at once, so by the time a CANCEL comes
        // its INVITE has its final response and the CANCEL has no effect
        // (section 9.2): 200 if the INVITE is known, 481 if not.
        if (!this.#transactions.has(this.#key(request, 'INVITE'))) {
          return [formatResponse(request, { status: 481 })]
        }
        return [formatResponse(request, { status: 200 })]
      default:
        return [formatResponse(request, { status: 501, headers: [ALLOW] })]
    }
  }

  /** 100 Trying, 180 Ringing, then 200 OK with an SDP answer: the call is up. */
  #invite(request: Request, callId: string): Uint8Array[] {
    const to = header(request, 'to') ?? ''
    // A dialog-creating response adds a To tag (section 8.2.6.2); a
    // re-INVITE inside a dialog already carries one.
    const tagged = tagOf(to) === undefined ? `${to};tag=${crypto.randomUUID().slice(0, 8)}` : to
    const contact = this.#contact()
    const ringing: ResponseParts = { status: 180, to: tagged, headers: [contact] }
    const ok: ResponseParts = {
      status: 200,
      to: tagged,
      headers: [contact, ALLOW],
      body: sdpAnswer(this.#local.host, this.#local.port + 2),
      contentType: 'application/sdp',
    }
    this.#dialogs.add(callId)
    if (this.#dialogs.size > MAX_ENTRIES) this.#dialogs.delete(first(this.#dialogs))
    const final = formatResponse(request, ok)
    this.#awaitAck(`${callId} ${parseCseq(header(request, 'cseq') ?? '')?.number}`, callId, final)
    return [formatResponse(request, { status: 100 }), formatResponse(request, ringing), final]
  }

  /** Sends `final` again until the ACK with the same Call-ID and CSeq number clears `key`. */
  #awaitAck(key: string, callId: string, final: Uint8Array): void {
    if (this.#unacked.has(key) || this.#unacked.size >= MAX_ENTRIES) return
    const started = this.#now()
    let interval = T1
    const tick = () => {
      if (this.#now() - started >= 64 * T1) {
        // No ACK: the call never got up. (A full UAS would also send BYE.)
        this.#unacked.delete(key)
        this.#dialogs.delete(callId)
        return
      }
      this.#resend(final)
      interval = Math.min(interval * 2, T2)
      this.#unacked.set(key, setTimeout(tick, interval))
    }
    this.#unacked.set(key, setTimeout(tick, interval))
  }

  #contact(): string {
    return `Contact: <sip:uas@${this.#local.host}:${this.#local.port}>`
  }

  /**
   * The server transaction a request belongs to (section 17.2.3): the top
   * Via's branch, or for an RFC 2543 client without the magic cookie, the
   * Call-ID and CSeq number.
   */
  #key(request: Request, method: string): string {
    const branch = topBranch(request)
    if (branch?.startsWith('z9hG4bK')) return `${branch} ${method}`
    const cseq = parseCseq(header(request, 'cseq') ?? '')
    return `${header(request, 'call-id')} ${cseq?.number} ${method}`
  }

  #remember(key: string, response: Uint8Array): void {
    this.#transactions.delete(key)
    this.#transactions.set(key, { response, at: this.#now() })
    // The map is in insertion order: the oldest entries are first.
    for (const [old, { at }] of this.#transactions) {
      if (this.#transactions.size <= MAX_ENTRIES && this.#now() - at < TRANSACTION_MS) break
      this.#transactions.delete(old)
    }
  }
}

function first(set: Set<string>): string {
  return set.values().next().value ?? ''
}

/**
 * A minimal SDP answer (RFC 4566, RFC 3264): one audio stream of G.711
 * mu-law (payload type 0). This example accepts the call but sends no RTP.
 *
 * @example
 * sdpAnswer('127.0.0.1', 5062) // 'v=0\r\no=- … m=audio 5062 RTP/AVP 0\r\n…'
 */
export function sdpAnswer(host: string, rtpPort: number): string {
  const session = Date.now()
  return [
    'v=0',
    `o=sockworker ${session} ${session} IN IP4 ${host}`,
    's=sockworker',
    `c=IN IP4 ${host}`,
    't=0 0',
    `m=audio ${rtpPort} RTP/AVP 0`,
    'a=rtpmap:0 PCMU/8000',
    '',
  ].join('\r\n')
}
