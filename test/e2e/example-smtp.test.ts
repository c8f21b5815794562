/**
 * End to end: examples/smtp, run with `sockworker dev` on a TCP listener
 * that has a certificate (so STARTTLS works) and a storage binding, driven
 * by swaks (Debian's swaks) with and without --tls, by nodemailer, and by a
 * raw client for sequencing errors, garbage, long lines and big messages.
 * Every stored message is read back from the SQLite file.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import nodemailer from 'nodemailer'
import { openSqliteStorage } from '../../packages/sockworker/src/storage/sqlite.ts'
import { type CertSet, makeCerts } from '../helpers/certs.ts'
import { type Cli, readyPorts, startCli, tempProject } from './cli.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
const MAX_SIZE = 64 * 1024

/** A line-level SMTP client on a node:net (or node:tls) socket. */
class RawClient {
  readonly socket: Socket
  #received = ''
  #ended = false
  #wake: () => void = () => {}

  constructor(socket: Socket) {
    this.socket = socket
    socket.setEncoding('latin1')
    socket.on('data', (data: string) => {
      this.#received += data
      this.#wake()
    })
    socket.on('close', () => {
      this.#ended = true
      this.#wake()
    })
    socket.on('error', () => {})
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true })
    const client = new RawClient(socket)
    assert.match(await client.reply(), /^220 /)
    return client
  }

  /** Writes `text` as its own segment (Nagle is off; waits for the write). */
  write(text: string): Promise<void> {
    return new Promise((resolve) => this.socket.write(text, 'latin1', () => resolve()))
  }

  /** The next complete reply, its lines joined by "\n". */
  async reply(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const match = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.#received)
      if (match) {
        this.#received = this.#received.slice(match[0].length)
        return match[0].trimEnd().replaceAll('\r\n', '\n')
      }
      if (this.#ended) throw new Error(`Closed; unparsed: ${JSON.stringify(this.#received)}`)
      if (Date.now() > deadline) throw new Error(`No reply; got ${JSON.stringify(this.#received)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now())
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  async command(line: string): Promise<string> {
    await this.write(`${line}\r\n`)
    return this.reply()
  }

  /** Resolves once the server has closed the connection. */
  async closedByServer(): Promise<void> {
    while (!this.#ended) await this.reply().catch(() => {})
  }

  /** After "220" to STARTTLS: the same conversation over TLS. */
  async startTls(ca: string): Promise<RawClient> {
    const secure = tlsConnect({ socket: this.socket, ca, servername: 'localhost' })
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve)
      secure.once('error', reject)
    })
    this.socket.removeAllListeners('data')
    return new RawClient(secure)
  }
}

describe('examples/smtp', { concurrency: false }, () => {
  let project: Awaited<ReturnType<typeof tempProject>>
  let cli: Cli
  let port: number
  let certs: CertSet
  let mailFile: string

  before(async () => {
    certs = await makeCerts()
    project = await tempProject({})
    mailFile = project.path('mail.sqlite')
    const args = ['dev', 'examples/smtp/worker.ts', '--tcp', '0']
    args.push('--cert', certs.files.serverCert, '--key', certs.files.serverKey)
    args.push('--storage', `MAIL=${mailFile}`, '--var', 'STARTTLS=on')
    args.push('--var', `MAX_SIZE=${MAX_SIZE}`, '--var', 'HOSTNAME=mx.test')
    cli = startCli(args, { cwd: root })
    ;({ tcp: port = 0 } = await readyPorts(cli, ['tcp']))
  })
  after(async () => {
    await cli?.stop()
    await project?.[Symbol.asyncDispose]()
  })

  /** The stored messages, in key order, as text. */
  async function stored(): Promise<Array<{ key: string; text: string }>> {
    const storage = openSqliteStorage(mailFile)
    try {
      const rows = await storage.list({ prefix: 'msg:' })
      return rows.map(({ key, value }) => ({
        key,
        text: typeof value === 'string' ? value : new TextDecoder().decode(value),
      }))
    } finally {
      storage.close()
    }
  }

  /** The one message stored whose text contains `marker`. */
  async function storedWith(marker: string): Promise<string> {
    const found = (await stored()).filter(({ text }) => text.includes(marker))
    assert.equal(found.length, 1, `one message with ${marker}`)
    assert.match(found[0]!.key, /^msg:\d{13}:[0-9a-f]{12}$/)
    return found[0]!.text
  }

  async function swaks(...args: string[]): Promise<string> {
    const server = ['--server', '127.0.0.1', '--port', String(port)]
    const { stdout } = await run('swaks', [...server, ...args], { timeout: 15_000 })
    return stdout
  }

  const RAW_MESSAGE = [
    'From: Alice <alice@example.com>',
    'To: Bob <bob@example.com>',
    'Subject: SUBJECT',
    '',
    'first line',
    '.a line that starts with a dot',
    '..two dots',
    '.',
    'last line',
    '',
  ].join('\r\n')

  test('swaks sends a message in plaintext; it is stored with dots unstuffed', async () => {
    const file = project.path('plain.eml')
    await project.write('plain.eml', RAW_MESSAGE.replace('SUBJECT', 'plain swaks'))
    const out = await swaks(
      '--from',
      'alice@example.com',
      '--to',
      'bob@example.com',
      '--data',
      `@${file}`,
    )
    assert.match(out, /<- {2}250 2\.0\.0 Ok: queued as [0-9a-f]{12}/)
    assert.match(out, /<- {2}250-SIZE 65536/)
    assert.match(out, /<- {2}250[- ]STARTTLS/)
    const text = await storedWith('Subject: plain swaks')
    assert.match(text, /^Return-Path: <alice@example\.com>\r\nReceived: from /)
    assert.match(text, /by mx\.test with ESMTP id [0-9a-f]{12}\r\n\tfor <bob@example\.com>;/)
    // swaks doubled each leading dot on the wire (and added a blank line at the end).
    const body =
      '\r\n\r\nfirst line\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\nlast line\r\n'
    assert.ok(text.includes(body), JSON.stringify(text))
  })

  // swaks only *recommends* libnet-ssleay-perl, so an install with
  // --no-install-recommends leaves it without TLS. This names the fix.
  test('swaks can speak TLS: Net::SSLeay (Debian libnet-ssleay-perl) is installed', async () => {
    const { stdout, stderr } = await run('swaks', ['--support'], { timeout: 15_000 })
    assert.match(
      stdout + stderr,
      /=== TLS supported/,
      `swaks --support says:\n${stdout}${stderr}\nInstall libnet-ssleay-perl (scripts/debian-packages.txt lists it; npm run setup installs it)`,
    )
  })

  test('swaks --tls upgrades with STARTTLS, verifying the certificate', async () => {
    const file = project.path('tls.eml')
    await project.write('tls.eml', RAW_MESSAGE.replace('SUBJECT', 'swaks over tls'))
    const tls = ['--tls', '--tls-verify', '--tls-ca-path', certs.files.ca]
    const out = await swaks(
      ...tls,
      '--from',
      'a@example.com',
      '--to',
      'b@example.com',
      '--data',
      `@${file}`,
    )
    assert.match(out, /-> STARTTLS/)
    assert.match(out, /TLS started/)
    assert.match(out, /<~ {2}250 2\.0\.0 Ok: queued as/)
    const text = await storedWith('Subject: swaks over tls')
    assert.match(text, /with ESMTPS id/)
  })

  test('nodemailer sends with requireTLS to two recipients', async () => {
    const transport = nodemailer.createTransport({
      host: 'localhost',
      port,
      secure: false,
      requireTLS: true,
      tls: { ca: certs.ca },
    })
    try {
      const info = await transport.sendMail({
        from: 'carol@example.com',
        to: ['dave@example.com', 'erin@example.com'],
        subject: 'from nodemailer',
        text: 'Grüße\n.dot at the start\nend',
      })
      assert.deepEqual(info.accepted, ['dave@example.com', 'erin@example.com'])
    } finally {
      transport.close()
    }
    const text = await storedWith('Subject: from nodemailer')
    assert.match(text, /with ESMTPS id [0-9a-f]{12};\r\n/) // no "for": two recipients
    assert.match(text, /^Return-Path: <carol@example\.com>/)
    assert.match(text, /\r\n\.dot at the start\r\nend/)
  })

  test('sequencing and syntax errors get 503/500/501, and the session goes on', async () => {
    const client = await RawClient.open(port)
    assert.match(await client.command('MAIL FROM:<a@example.com>'), /^503 /)
    assert.match(await client.command('RCPT TO:<b@example.com>'), /^503 /)
    assert.match(await client.command('DATA'), /^503 /)
    assert.match(await client.command('EHLO'), /^501 /)
    assert.match(await client.command('HELO client.test'), /^250 mx\.test$/)
    assert.match(await client.command('\u0001\u00ff garbage'), /^500 /)
    assert.match(await client.command(''), /^500 /)
    assert.match(await client.command('MAIL FROM:a@example.com'), /^501 /)
    assert.match(await client.command('MAIL FROM:<a@example.com> FOO=BAR'), /^555 /)
    assert.match(await client.command(`MAIL FROM:<a@example.com> SIZE=${MAX_SIZE + 1}`), /^552 /)
    assert.match(await client.command('MAIL FROM:<> SIZE=100'), /^250 /)
    assert.match(await client.command('MAIL FROM:<a@example.com>'), /^503 /) // nested
    assert.match(await client.command('DATA'), /^503 /) // no recipient yet
    assert.match(await client.command('RCPT TO:<not an address>'), /^501 /)
    assert.match(
      await client.command(`RCPT TO:<${'x'.repeat(600)}@example.com>`),
      /^500 .*too long/,
    )
    assert.match(await client.command('VRFY bob'), /^252 /)
    assert.match(await client.command('NOOP'), /^250 /)
    assert.match(await client.command('RSET'), /^250 /)
    assert.match(await client.command('RCPT TO:<b@example.com>'), /^503 /) // RSET ended it
    assert.match(await client.command('STARTTLS now'), /^501 /)
    assert.match(await client.command('QUIT'), /^221 /)
    await client.closedByServer()
  })

  test('at most 100 recipients', async () => {
    const client = await RawClient.open(port)
    await client.command('EHLO client.test')
    await client.command('MAIL FROM:<a@example.com>')
    // Pipelined in one write: one reply per command, in order.
    const rcpts = Array.from({ length: 101 }, (_, i) => `RCPT TO:<r${i}@example.com>\r\n`)
    await client.write(rcpts.join(''))
    for (let i = 0; i < 100; i++) assert.match(await client.reply(), /^250 /)
    assert.match(await client.reply(), /^452 4\.5\.3 /)
    assert.match(await client.command('QUIT'), /^221 /)
  })

  test('the end-of-data marker split across segments, and a message over MAX_SIZE', async () => {
    const client = await RawClient.open(port)
    await client.command('EHLO client.test')
    await client.write('MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n')
    assert.match(await client.reply(), /^250 /)
    assert.match(await client.reply(), /^250 /)
    assert.match(await client.reply(), /^354 /)
    for (const piece of ['Subject: split\r\n\r\nhello\r', '\n.', '.x\r\n', '.', '\r', '\n']) {
      await client.write(piece)
    }
    assert.match(await client.reply(), /^250 2\.0\.0 Ok: queued/)
    assert.ok((await storedWith('Subject: split')).endsWith('\r\n\r\nhello\r\n.x\r\n'))

    await client.command('MAIL FROM:<a@example.com>')
    await client.command('RCPT TO:<b@example.com>')
    assert.match(await client.command('DATA'), /^354 /)
    const line = `${'y'.repeat(998)}\r\n`
    await client.write(`Subject: too big\r\n\r\n${line.repeat(MAX_SIZE / 1000 + 1)}.\r\n`)
    assert.match(await client.reply(), /^552 5\.3\.4 /)
    assert.match(await client.command('RCPT TO:<b@example.com>'), /^503 /) // the transaction ended
    assert.equal((await stored()).filter(({ text }) => text.includes('too big')).length, 0)
    assert.match(await client.command('QUIT'), /^221 /)
  })

  test('STARTTLS twice is refused, and EHLO must come again after it', async () => {
    const plain = await RawClient.open(port)
    assert.match(await plain.command('EHLO client.test'), /\n250 STARTTLS$/)
    // A NOOP pipelined after STARTTLS came in plaintext: it must be dropped,
    // not answered over TLS (the STARTTLS command injection, CVE-2011-0411).
    await plain.write('STARTTLS\r\nNOOP\r\n')
    assert.match(await plain.reply(), /^220 /)
    const client = await plain.startTls(certs.ca)
    assert.match(await client.command('MAIL FROM:<a@example.com>'), /^503 /) // EHLO again first
    const ehlo = await client.command('EHLO client.test')
    assert.doesNotMatch(ehlo, /STARTTLS/)
    assert.match(await client.command('STARTTLS'), /^503 5\.5\.1 /)
    assert.match(await client.command('QUIT'), /^221 /)
  })

  test('a line over 64 KiB without CRLF gets 421 and the connection closes', async () => {
    const client = await RawClient.open(port)
    await client.write('z'.repeat(70 * 1024))
    assert.match(await client.reply(), /^421 /)
    await client.closedByServer()
  })

  test('too many bad commands get 421 and the connection closes', async () => {
    const client = await RawClient.open(port)
    for (let i = 0; i < 19; i++) assert.match(await client.command('BOGUS'), /^500 /)
    assert.match(await client.command('BOGUS'), /^421 /)
    await client.closedByServer()
  })

  test('the worker keeps serving after all that', async () => {
    const leaving = await RawClient.open(port)
    await leaving.write(
      'EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n',
    )
    for (const code of [/^250-/, /^250 /, /^250 /, /^354 /])
      assert.match(await leaving.reply(), code)
    await leaving.write('Subject: abandoned\r\n\r\nhalf a mess')
    leaving.socket.destroy() // mid-message: nothing is stored
    const out = await swaks(
      '--from',
      'a@example.com',
      '--to',
      'b@example.com',
      '--h-Subject',
      'after',
    )
    assert.match(out, /250 2\.0\.0 Ok: queued as/)
    await storedWith('Subject: after')
    assert.equal((await stored()).filter(({ text }) => text.includes('abandoned')).length, 0)
    assert.doesNotMatch(cli.output, /handler failed|replica exited/)
  })
})

test('examples/smtp without a storage binding answers DATA with 451', async () => {
  await using cli = startCli(['dev', 'examples/smtp/worker.ts', '--tcp', '0'], { cwd: root })
  const { tcp: port = 0 } = await readyPorts(cli, ['tcp'])
  const client = await RawClient.open(port)
  const ehlo = await client.command('EHLO client.test')
  assert.match(ehlo, /\n250-SIZE 1048576\n/)
  assert.doesNotMatch(ehlo, /STARTTLS/) // not turned on
  assert.match(await client.command('STARTTLS'), /^502 /)
  await client.command('MAIL FROM:<a@example.com>')
  await client.command('RCPT TO:<b@example.com>')
  assert.match(await client.command('DATA'), /^451 4\.3\.0 Storage unavailable/)
  assert.match(await client.command('QUIT'), /^221 /)
})
