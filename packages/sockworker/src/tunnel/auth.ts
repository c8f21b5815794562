/**
 * The tunnel's shared-secret check. A client offers its token as the
 * WebSocket subprotocol `sockworker-token.<token>` (browser-style WebSocket
 * APIs cannot set headers) or as `Authorization: Bearer <token>`. Tokens
 * are compared as SHA-256 digests with `timingSafeEqual`: equal lengths
 * whatever was offered, and no early exit that would time the match.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { tunnelWire } from '@sockworker/sockets/node'

/** What a token may hold: what travels in a subprotocol name (and in `via.token`). */
const tokenPattern = /^[A-Za-z0-9._~+-]+$/

/**
 * Reads a token file: one token, surrounding whitespace ignored.
 *
 * @throws Error naming the file when it cannot be read or holds no valid token.
 * @example
 * const token = readTokenFile('/etc/sockworker/tunnel.token')
 */
export function readTokenFile(file: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new Error(`Cannot read the token file "${file}": ${(error as Error).message}`)
  }
  const token = text.trim()
  if (!tokenPattern.test(token)) {
    throw new Error(
      `The token file "${file}" must hold one token of letters, digits and . _ ~ + - (as from "openssl rand -hex 32")`,
    )
  }
  return token
}

/** The token a request offers, if any: the subprotocol first, then the header. */
export function offeredToken(request: IncomingMessage): string | undefined {
  for (const protocol of offeredProtocols(request)) {
    if (protocol.startsWith(tunnelWire.tokenPrefix)) {
      return protocol.slice(tunnelWire.tokenPrefix.length)
    }
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')
  return match?.[1]
}

/**
 * A check for requests: `undefined` when `expected` is undefined (no token
 * configured: everyone passes), otherwise why the request fails, if it does.
 *
 * @example
 * const check = tokenCheck(token)
 * const refusal = check(request) // 'no token' | 'wrong token' | undefined
 */
export function tokenCheck(
  expected: string | undefined,
): (request: IncomingMessage) => 'no token' | 'wrong token' | undefined {
  if (expected === undefined) return () => undefined
  const want = digest(expected)
  return (request) => {
    const token = offeredToken(request)
    if (token === undefined) return 'no token'
    return timingSafeEqual(digest(token), want) ? undefined : 'wrong token'
  }
}

/**
 * The subprotocol to answer with: ours when offered, else the first that is
 * not a token. Some answer is needed: browsers fail a handshake that offered
 * subprotocols and got none back (so a client offering only its token gets
 * it echoed).
 */
export function selectProtocol(protocols: Set<string>): string | false {
  if (protocols.has(tunnelWire.protocol)) return tunnelWire.protocol
  const all = [...protocols]
  return all.find((p) => !p.startsWith(tunnelWire.tokenPrefix)) ?? all[0] ?? false
}

function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol']
  if (header === undefined) return []
  return header.split(',').map((protocol) => protocol.trim())
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}
