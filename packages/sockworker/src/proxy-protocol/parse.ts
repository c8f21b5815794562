/**
 * The PROXY protocol (HAProxy, versions 1 and 2): the header an L4 balancer
 * sends before the client's bytes so that the server learns the real client
 * address. Spec: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
 *
 * Pure and portable: bytes in, a result object out. The listener feeds what it
 * has read so far and reads more while the result is `incomplete`.
 */
import type { ParseResult, ProxyVersion } from './types.ts'
import { parseProxyHeaderV1, V1_SIGNATURE } from './v1.ts'
import { parseProxyHeaderV2, V2_SIGNATURE } from './v2.ts'

export type { ParseResult, ProxyHeader, ProxyTlv, ProxyVersion } from './types.ts'
export { encodeProxyHeaderV1, V1_MAX_LENGTH } from './v1.ts'
export { type EncodeV2Options, encodeProxyHeaderV2, V2_MAX_LENGTH } from './v2.ts'

const VERSIONS = ['v1', 'v2', 'any']

/**
 * Parses the PROXY protocol header at the start of `buffer`.
 *
 * - `incomplete`: read more and call again with all the bytes so far. This is
 *   never returned once the buffer holds a header's maximum size (107 bytes for
 *   v1, 16 + 65,535 for v2), so a caller that keeps reading is bounded.
 * - `done`: `buffer.subarray(consumed)` is the client's payload.
 * - `invalid`: close the connection and log `reason`. Bytes that cannot begin
 *   an accepted header are refused as soon as they arrive.
 *
 * @param accept Which versions the listener allows; the other one is refused
 *   with a reason that names it. Never guess whether a header is present: a
 *   listener either requires one or does not call this.
 * @example
 * const result = parseProxyHeader(bytes, 'any')
 * if (result.status === 'done') {
 *   console.log(result.header.sourceAddress, result.header.sourcePort)
 *   forward(bytes.subarray(result.consumed))
 * }
 */
export function parseProxyHeader(buffer: Uint8Array, accept: ProxyVersion): ParseResult {
  if (!VERSIONS.includes(accept)) {
    throw new TypeError(
      `Invalid PROXY protocol version ${JSON.stringify(accept)}: expected "v1", "v2" or "any"`,
    )
  }
  const v1 = matchPrefix(buffer, V1_SIGNATURE)
  const v2 = matchPrefix(buffer, V2_SIGNATURE)
  if (v1 === 'full') {
    if (accept === 'v2') return wrongVersion(1, 2)
    return parseProxyHeaderV1(buffer)
  }
  if (v2 === 'full') {
    if (accept === 'v1') return wrongVersion(2, 1)
    return parseProxyHeaderV2(buffer)
  }
  // Also for a prefix of the version not accepted: waiting for the whole
  // signature (at most 12 bytes) lets the reason name the version precisely.
  if (v1 === 'partial' || v2 === 'partial') return { status: 'incomplete' }
  const expected = accept === 'any' ? 'a PROXY protocol' : `a PROXY protocol ${accept}`
  return { status: 'invalid', reason: `expected ${expected} header, got ${previewBytes(buffer)}` }
}

function wrongVersion(got: 1 | 2, allowed: 1 | 2): ParseResult {
  return {
    status: 'invalid',
    reason: `got a PROXY protocol v${got} header, but this listener accepts v${allowed} only`,
  }
}

/** Whether `buffer` starts with `signature` (`full`), could still (`partial`), or cannot. */
function matchPrefix(buffer: Uint8Array, signature: Uint8Array): 'full' | 'partial' | 'no' {
  const length = Math.min(buffer.length, signature.length)
  for (let i = 0; i < length; i++) if (buffer[i] !== signature[i]) return 'no'
  return buffer.length >= signature.length ? 'full' : 'partial'
}

/**
 * A short, log-safe rendering of untrusted bytes: printable ASCII as is, the
 * rest escaped, cut after `max` bytes.
 *
 * @example
 * previewBytes(new TextEncoder().encode('GET / HTTP/1.1\r\n')) // '"GET / HTTP/1.1\\r\\n"'
 */
export function previewBytes(bytes: Uint8Array, max = 16): string {
  let text = ''
  for (const byte of bytes.subarray(0, max)) text += escapeByte(byte)
  return `"${text}"${bytes.length > max ? '...' : ''}`
}

function escapeByte(byte: number): string {
  if (byte === 0x0d) return '\\r'
  if (byte === 0x0a) return '\\n'
  if (byte === 0x22 || byte === 0x5c) return `\\${String.fromCharCode(byte)}`
  if (byte >= 0x20 && byte < 0x7f) return String.fromCharCode(byte)
  return `\\x${byte.toString(16).padStart(2, '0')}`
}
