/**
 * One command line off the wire → the session's action: the line-level
 * checks (overflow, RFC 5321's 512-octet limit) in front of `Session`.
 * Pure, so that the fuzzer can drive it without a socket.
 */
import type { Line } from './lines.ts'
import { type Action, MAX_COMMAND_LINE, type Session } from './session.ts'

const decoder = new TextDecoder()

/**
 * The action for one line from `LineReader`.
 *
 * @example
 * commandFor(session, new TextEncoder().encode('EHLO client.example')).reply // '250-…'
 */
export function commandFor(session: Session, line: Line): Action {
  if (line === 'overflow') return { reply: '421 4.7.0 Line too long, closing', next: 'quit' }
  if (line.length > MAX_COMMAND_LINE - 2) return session.tooLong()
  return session.command(decoder.decode(line))
}
