/**
 * SMTP DATA (examples/smtp `MessageBody`): any message, dot-stuffed and cut
 * into lines as a client sends it, comes out byte for byte (each line ending
 * in CRLF), and the size it counts is the size it keeps.
 */
import { MessageBody } from '../../examples/smtp/message.ts'
import { bytes, checkEqual, checkThat, type FuzzTarget, latin1 } from '../engine/target.ts'

const target: FuzzTarget = {
  seeds: ['Subject: hi\r\n\r\nbody\r\n', '.\r\n..\r\n.x\r\n', '\r\n\r\n', 'no final newline'].map(
    bytes,
  ),
  dictionary: ['\r\n', '.', '..', '\r\n.\r\n'].map(bytes),
  maxLength: 4096,
  check(input) {
    // The message as lines without CR or LF, as LineReader would hand them.
    const lines = latin1(input)
      .split(/\r?\n/)
      .map((line) => line.replaceAll('\r', ''))
    const body = new MessageBody(1 << 20)
    for (const line of lines) {
      const stuffed = line.startsWith('.') ? `.${line}` : line
      checkThat(!body.add(bytes(stuffed)), `the line ${JSON.stringify(line)} ended the message`)
    }
    checkThat(body.add(bytes('.')), 'the lone dot did not end the message')
    const expected = lines.map((line) => `${line}\r\n`).join('')
    checkEqual(latin1(body.bytes()), expected, 'DATA round trip')
    checkEqual(body.size, expected.length, 'counted size')
  },
}
export default target
