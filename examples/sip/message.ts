/**
 * SIP messages (RFC 3261 section 7): reads a request from one UDP datagram
 * and writes a response. Over UDP a datagram holds exactly one message, so
 * there is no stream framing: Content-Length only trims the body.
 */

/** One header line, with its name as sent (for copying) and lower-cased long form (for lookup). */
export interface Header {
  name: string
  key: string
  value: string
}

/** A request as read; `problem` says why it is malformed (answered with 400). */
export interface Request {
  method: string
  uri: string
  version: string
  headers: Header[]
  body: string
  problem: string | undefined
}

// RFC 3261 section 7.3.3: the compact forms a client may send.
const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
}

const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/

/** The long, lower-case form of a header name: `i` and `Call-ID` both give `call-id`. */
export function headerKey(name: string): string {
  const lower = name.toLowerCase()
  return COMPACT[lower] ?? lower
}

/** The first value of a header, or `undefined`. */
export function header(request: { headers: Header[] }, key: string): string | undefined {
  return request.headers.find((line) => line.key === key)?.value
}

/**
 * Reads one request from a datagram. Returns `undefined` for anything that
 * is not a request at all (garbage, a response, an empty keep-alive): those
 * get no reply, so the server cannot be used to reflect packets.
 *
 * @example
 * const request = parseRequest(new TextEncoder().encode('OPTIONS sip:a@b SIP/2.0\r\n...'))
 */
export function parseRequest(data: Uint8Array): Request | undefined {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(data).replace(/^(\r?\n)+/, '')
  const end = text.search(/\r?\n\r?\n/)
  if (end < 0 && text.trim() === '') return undefined
  const head = end < 0 ? text : text.slice(0, end)
  const rest = end < 0 ? '' : text.slice(end).replace(/^\r?\n\r?\n/, '')
  const [first = '', ...lines] = unfold(head)
  const parts = first.split(' ')
  const [method = '', uri = '', version = ''] = parts
  if (parts.length !== 3 || !TOKEN.test(method) || uri === '' || !version.startsWith('SIP/')) {
    // Not a request line. Answer 400 only if the whole head is header lines
    // with a Via to answer along; a response or plain garbage is dropped.
    const all = first.startsWith('SIP/') ? undefined : parseHeaders([first, ...lines])
    if (all === undefined || header({ headers: all }, 'via') === undefined) return undefined
    return { method: '', uri: '', version: '', headers: all, body: '', problem: 'no request line' }
  }
  const headers = parseHeaders(lines)
  // Without a Via the client could not match a response to its request.
  if (headers === undefined || header({ headers }, 'via') === undefined) return undefined
  const request: Request = { method, uri, version, headers, body: rest, problem: undefined }
  request.problem = check(request)
  return request
}

/** Joins continuation lines (those starting with a space or tab) to the line before. */
function unfold(head: string): string[] {
  const lines: string[] = []
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`
    else lines.push(line)
  }
  return lines
}

/** `Name: value` lines; `undefined` if any line is not a header (then it is not SIP). */
function parseHeaders(lines: string[]): Header[] | undefined {
  const headers: Header[] = []
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim()
    if (colon < 1 || !TOKEN.test(name)) return undefined
    // A bare CR is no line end in SIP, and copied into a response it would forge one.
    if (line.includes('\r')) return undefined
    headers.push({ name, key: headerKey(name), value: line.slice(colon + 1).trim() })
  }
  return headers
}

/** What is wrong with a request (RFC 3261 section 8.2), or `undefined` if it can be served. */
function check(request: Request): string | undefined {
  for (const key of ['from', 'to', 'call-id', 'cseq']) {
    if (header(request, key) === undefined) return `missing ${key} header`
  }
  const cseq = parseCseq(header(request, 'cseq') ?? '')
  if (cseq === undefined) return 'bad CSeq header'
  if (cseq.method !== request.method) return 'CSeq method does not match the request'
  const length = header(request, 'content-length')
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) return 'bad Content-Length header'
    const bytes = new TextEncoder().encode(request.body)
    // Section 18.3: a body shorter than Content-Length is a 400 over UDP;
    // anything after it is dropped.
    if (bytes.length < Number(length)) return 'body shorter than Content-Length'
    request.body = new TextDecoder().decode(bytes.subarray(0, Number(length)))
  }
  return undefined
}

/** `CSeq: 1 INVITE` → `{ number: 1, method: 'INVITE' }`, or `undefined` if malformed. */
export function parseCseq(value: string): { number: number; method: string } | undefined {
  const match = /^(\d{1,10})\s+(\S+)$/.exec(value)
  if (match === null) return undefined
  const number = Number(match[1])
  // Section 8.1.1.5: the sequence number is below 2**31.
  if (number >= 2 ** 31 || !TOKEN.test(match[2] ?? '')) return undefined
  return { number, method: match[2] ?? '' }
}

/** The `branch` parameter of the top Via, which names the transaction (section 17.2.3). */
export function topBranch(request: Request): string | undefined {
  return /;\s*branch=([^;,\s]+)/i.exec(header(request, 'via') ?? '')?.[1]
}

/** The `tag` parameter of a From or To value. */
export function tagOf(value: string | undefined): string | undefined {
  return /;\s*tag=([^;,\s]+)/i.exec(value ?? '')?.[1]
}

export const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  200: 'OK',
  400: 'Bad Request',
  481: 'Call/Transaction Does Not Exist',
  487: 'Request Terminated',
  501: 'Not Implemented',
  505: 'Version Not Supported',
}

/** What a response adds to the headers it copies from the request. */
export interface ResponseParts {
  status: number
  /** Replaces the request's To (to add a tag). */
  to?: string
  /** Extra header lines, e.g. `['Contact: <sip:…>']`. */
  headers?: string[]
  body?: string
  contentType?: string
}

/**
 * Writes a response (section 8.2.6.2): every Via in order, From, To, Call-ID
 * and CSeq copied from the request, then the extra headers and the body.
 *
 * @example
 * const bytes = formatResponse(request, { status: 200, headers: ['Contact: <sip:uas@127.0.0.1>'] })
 */
export function formatResponse(request: Request, parts: ResponseParts): Uint8Array {
  const lines = [`SIP/2.0 ${parts.status} ${REASONS[parts.status] ?? 'Unknown'}`]
  for (const line of request.headers) {
    if (line.key === 'via') lines.push(`Via: ${line.value}`)
  }
  for (const [key, name] of [
    ['from', 'From'],
    ['to', 'To'],
    ['call-id', 'Call-ID'],
    ['cseq', 'CSeq'],
  ] as const) {
    const value = key === 'to' && parts.to !== undefined ? parts.to : header(request, key)
    if (value !== undefined) lines.push(`${name}: ${value}`)
  }
  lines.push(...(parts.headers ?? []), 'Server: sockworker-sip-example')
  const body = new TextEncoder().encode(parts.body ?? '')
  if (parts.contentType !== undefined) lines.push(`Content-Type: ${parts.contentType}`)
  lines.push(`Content-Length: ${body.length}`, '', '')
  const head = new TextEncoder().encode(lines.join('\r\n'))
  const bytes = new Uint8Array(head.length + body.length)
  bytes.set(head)
  bytes.set(body, head.length)
  return bytes
}
