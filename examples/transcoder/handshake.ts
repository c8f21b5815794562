/**
 * The server side of the WebSocket opening handshake (RFC 6455 section 4.2):
 * read an HTTP/1.1 request head, check that it asks for an upgrade, and
 * answer it with 101 (and its Sec-WebSocket-Accept) or with an HTTP error.
 */

/** RFC 6455's fixed GUID, appended to the client's key before hashing. */
const acceptGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
/** Request heads longer than this are refused (431): no real client sends one. */
export const maxHeadBytes = 8192

/** An HTTP request head: the request line's parts and the headers, names in lower case. */
export interface RequestHead {
  method: string
  target: string
  version: string
  headers: Map<string, string>
}

/** Why a request is refused, as an HTTP status and a text body. */
export class HandshakeError extends Error {
  readonly status: number
  readonly extraHeaders: Record<string, string>

  constructor(status: number, message: string, extraHeaders: Record<string, string> = {}) {
    super(message)
    this.status = status
    this.extraHeaders = extraHeaders
  }
}

/**
 * Finds the end of the request head (CRLF CRLF) in `bytes`; returns the
 * parsed head and the bytes after it, or undefined when more are needed.
 * Throws a HandshakeError (400 or 431) for a head no server would accept.
 *
 * @example
 * readHead(bytes('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))?.head.method // 'GET'
 */
export function readHead(bytes: Uint8Array): { head: RequestHead; rest: Uint8Array } | undefined {
  const end = indexOfCrlfCrlf(bytes)
  if (end === -1) {
    if (bytes.length > maxHeadBytes) throw new HandshakeError(431, 'Request header too large')
    return undefined
  }
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, end))
  const [requestLine = '', ...lines] = text.split('\r\n')
  const parts = requestLine.split(' ')
  if (parts.length !== 3) throw new HandshakeError(400, 'Malformed request line')
  const [method = '', target = '', version = ''] = parts
  const headers = new Map<string, string>()
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new HandshakeError(400, 'Malformed header line')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value)
  }
  return { head: { method, target, version, headers }, rest: bytes.subarray(end + 4) }
}

/**
 * Checks that `head` is a valid WebSocket upgrade request and returns the
 * 101 response to send. Throws a HandshakeError (400, 405 or 426) if not.
 *
 * @example
 * const response = await acceptUpgrade(head) // 'HTTP/1.1 101 Switching Protocols\r\n...'
 */
export async function acceptUpgrade(head: RequestHead): Promise<string> {
  const { headers } = head
  const hasToken = (name: string, token: string) =>
    (headers.get(name) ?? '')
      .toLowerCase()
      .split(',')
      .some((value) => value.trim() === token)
  if (!hasToken('upgrade', 'websocket') || !hasToken('connection', 'upgrade')) {
    throw new HandshakeError(
      400,
      'This is a WebSocket endpoint: send an Upgrade: websocket request',
    )
  }
  if (head.method !== 'GET') throw new HandshakeError(405, 'A WebSocket upgrade must be a GET')
  if (head.version !== 'HTTP/1.1')
    throw new HandshakeError(400, 'A WebSocket upgrade needs HTTP/1.1')
  if (headers.get('sec-websocket-version') !== '13') {
    throw new HandshakeError(426, 'Only WebSocket version 13 is supported', {
      'Sec-WebSocket-Version': '13',
    })
  }
  const key = headers.get('sec-websocket-key') ?? ''
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    throw new HandshakeError(400, 'Sec-WebSocket-Key must be 16 bytes in base64')
  }
  return [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${await acceptKey(key)}`,
    '',
    '',
  ].join('\r\n')
}

/**
 * Sec-WebSocket-Accept for a client's key: base64(SHA-1(key + GUID)).
 *
 * @example
 * await acceptKey('dGhlIHNhbXBsZSBub25jZQ==') // 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
 */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(key + acceptGuid))
  return btoa(String.fromCharCode(...new Uint8Array(digest)))
}

/** An HTTP error response that closes the connection. */
export function errorResponse(error: HandshakeError): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    405: 'Method Not Allowed',
    426: 'Upgrade Required',
    431: 'Request Header Fields Too Large',
    502: 'Bad Gateway',
  }
  const body = `${error.message}\n`
  const headers = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(new TextEncoder().encode(body).length),
    Connection: 'close',
    ...error.extraHeaders,
  }
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  const status = `HTTP/1.1 ${error.status} ${reasons[error.status] ?? 'Error'}`
  return [status, ...lines, '', body].join('\r\n')
}

function indexOfCrlfCrlf(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i
    }
  }
  return -1
}
