/**
 * The tunnel's close reasons (`closeReason`, `parseCloseReason`): any text
 * parses or not without throwing; a reason made from a code and a message
 * fits in 123 bytes of UTF-8 and parses back to that code.
 */
import { closeReason, parseCloseReason } from '../../packages/sockets/src/tunnel/wire.ts'
import { checkEqual, checkThat, type FuzzTarget } from '../engine/target.ts'

const decoder = new TextDecoder()
const encoder = new TextEncoder()
const target: FuzzTarget = {
  seeds: ['ECONNREFUSED: Cannot connect to db:5432', 'ETIMEDOUT: ', 'E: 😀😀😀', 'x'].map((text) =>
    encoder.encode(text),
  ),
  dictionary: [': ', 'ECONNRESET', '\n', '\u00e9', '\ud83d\ude00'].map((text) =>
    encoder.encode(text),
  ),
  maxLength: 512,
  check(input) {
    const text = decoder.decode(input)
    parseCloseReason(text)
    const colon = text.indexOf(':')
    const code =
      colon < 0
        ? 'EFUZZ'
        : text
            .slice(0, colon)
            .toUpperCase()
            .replace(/[^A-Z0-9_]/g, '_')
    const message = text.slice(colon + 1)
    const reason = closeReason(/^[A-Z]/.test(code) ? code : `E${code}`, message)
    checkThat(
      encoder.encode(reason).length <= 123,
      `reason of ${encoder.encode(reason).length} bytes`,
    )
    const parsed = parseCloseReason(reason)
    if (code.length + 5 <= 120) {
      checkEqual(parsed?.code, /^[A-Z]/.test(code) ? code : `E${code}`, 'close reason code')
    }
  },
}
export default target
