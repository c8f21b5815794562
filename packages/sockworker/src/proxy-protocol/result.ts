/** Small constructors shared by the v1 and v2 parsers. */
import type { ParseResult, ProxyHeader } from './types.ts'

export function done(header: ProxyHeader, consumed: number): ParseResult {
  return { status: 'done', header, consumed }
}

export function invalid(reason: string): ParseResult {
  return { status: 'invalid', reason }
}

/** A byte as two lower-case hex digits, for reasons that quote bytes. */
export function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0')
}
