/**
 * SMTP commands and DATA (examples/smtp) as the worker drives them: bytes in
 * arbitrary chunks through `LineReader`, each line through `commandFor`, and
 * after 354 the lines through `MessageBody`. Nothing throws, and every reply
 * is lines of `NNN text` with no stray CR or LF that could forge a reply.
 */
import { commandFor } from '../../examples/smtp/command.ts'
import { LineReader } from '../../examples/smtp/lines.ts'
import { MessageBody } from '../../examples/smtp/message.ts'
import { Session } from '../../examples/smtp/session.ts'
import { bytes, checkThat, chunksOf, type FuzzTarget } from '../engine/target.ts'

const REPLY_LINE = /^[2-5][0-9]{2}[ -][^\r\n]*$/
const target: FuzzTarget = {
  seeds: [
    '\x07EHLO client.example\r\nMAIL FROM:<a@x.example> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@y.example>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n',
    '\x00HELO h\nMAIL FROM:<>\nRCPT TO:<postmaster>\nRCPT TO:<c@d>\nDATA\n.\nRSET\nNOOP\nVRFY x\nHELP\nSTARTTLS\n',
    '\x20mail from:<a@b> SIZE=99999999999\r\nrcpt to:<a@b> NOTIFY=NEVER\r\ndata x\r\n\r\n',
    // Past RFC 5321's 512 octets, and past the reader's 1,024 with no line end.
    `\x3fEHLO ${'a'.repeat(600)}\r\nNOOP\r\nNOOP ${'x'.repeat(1100)}`,
  ].map(bytes),
  dictionary: [
    'EHLO ',
    'MAIL FROM:<',
    'RCPT TO:<',
    '>',
    'DATA\r\n',
    '\r\n.\r\n',
    '\r\n',
    ' SIZE=',
  ].map(bytes),
  maxLength: 2048,
  async check(input) {
    const chunks = chunksOf(input)
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks.shift()
        if (chunk === undefined) controller.close()
        else controller.enqueue(chunk)
      },
    })
    const lines = new LineReader(stream.getReader(), 1024)
    const session = new Session({ hostname: 'mx.test', maxSize: 256, starttls: true }, false)
    for (let line = await lines.next(); line !== undefined; line = await lines.next()) {
      const action = commandFor(session, line)
      for (const reply of action.reply.split('\r\n')) {
        checkThat(REPLY_LINE.test(reply), `reply line ${JSON.stringify(reply)}`)
      }
      if (action.next === 'quit' || action.next === 'starttls') return
      if (action.next !== 'data') continue
      const body = new MessageBody(session.config.maxSize)
      for (let data = await lines.next(); data !== undefined; data = await lines.next()) {
        if (data === 'overflow') return
        if (body.add(data)) break
      }
      checkThat(body.tooBig || body.bytes().length === body.size, 'kept bytes match the size')
      session.reset()
    }
  },
}
export default target
