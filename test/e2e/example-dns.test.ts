/**
 * End to end: examples/dns under `sockworker dev`, asked by `dig` over UDP
 * and TCP. The test runs every `$ dig` command in the README (on a free
 * port) and checks the output the README shows, then sends what `dig` never
 * would: malformed queries, garbage datagrams, broken TCP framing.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { connect, type Socket as TcpSocket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseZone } from '../../examples/dns/zone.ts'
import { freePort } from '../helpers/ports.ts'
import { type Cli, startCli } from './cli.ts'

const exampleDir = new URL('../../examples/dns/', import.meta.url)
const worker = fileURLToPath(new URL('worker.ts', exampleDir))

/** Runs dig against the server; its stdout. */
function dig(port: number, args: string[]): Promise<string> {
  const options = ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1']
  return new Promise((resolve, reject) => {
    execFile('dig', [...options, ...args], { timeout: 10_000 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    )
  })
}

/** A query in wire format: header, one question, no EDNS. */
function query(id: number, name: string, type = 1, options: { opcode?: number } = {}): Buffer {
  const header = Buffer.alloc(12)
  header.writeUInt16BE(id, 0)
  header.writeUInt16BE(((options.opcode ?? 0) << 11) | 0x0100, 2)
  header.writeUInt16BE(1, 4)
  const labels = name.split('.').filter(Boolean)
  const qname = Buffer.concat([
    ...labels.map((label) => Buffer.concat([Buffer.of(label.length), Buffer.from(label)])),
    Buffer.of(0),
  ])
  const tail = Buffer.alloc(4)
  tail.writeUInt16BE(type, 0)
  tail.writeUInt16BE(1, 2)
  return Buffer.concat([header, qname, tail])
}

/** The header fields a test looks at. */
function header(reply: Buffer) {
  const flags = reply.readUInt16BE(2)
  return {
    id: reply.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    aa: (flags & 0x0400) !== 0,
    rcode: flags & 0xf,
    answers: reply.readUInt16BE(6),
  }
}

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 }

/** Sends datagrams from one client socket; replies arrive in order. */
async function udpClient(port: number) {
  const socket: UdpSocket = createSocket('udp4')
  socket.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  return {
    send: (message: Buffer) => socket.send(message),
    async reply(): Promise<Buffer> {
      const [message] = (await once(socket, 'message', {
        signal: AbortSignal.timeout(5000),
      })) as [Buffer]
      return message
    },
    close: () => socket.close(),
  }
}

/** A TCP client that reads length-prefixed replies. */
async function tcpClient(port: number) {
  const socket: TcpSocket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let pending = Buffer.alloc(0)
  const closed = once(socket, 'close')
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
  })
  return {
    write: (bytes: Buffer) => socket.write(bytes),
    async reply(): Promise<Buffer> {
      for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
        if (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
          const message = pending.subarray(2, 2 + pending.readUInt16BE(0))
          pending = pending.subarray(2 + message.length)
          return message
        }
        await once(socket, 'data', { signal: AbortSignal.timeout(deadline - Date.now()) })
      }
      throw new Error('No TCP reply within 5 s')
    },
    closed,
    destroy: () => socket.destroy(),
  }
}

const framed = (message: Buffer) => {
  const length = Buffer.alloc(2)
  length.writeUInt16BE(message.length)
  return Buffer.concat([length, message])
}

/** dig's output, with its random id and the tabs/spaces of its columns made comparable. */
const normal = (text: string) =>
  text
    .replace(/id: \d+/g, 'id: …')
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .join('\n')
    .trim()

describe('examples/dns with dig', { concurrency: false }, () => {
  let cli: Cli
  let port: number

  before(async () => {
    port = await freePort('both')
    const address = `127.0.0.1:${port}`
    cli = startCli(['dev', worker, '--udp', address, '--tcp', address, '--var', 'ZONE=zone.db'])
    await cli.waitFor(/ready udp/)
    await cli.waitFor(/ready tcp/)
  })

  after(async () => {
    await cli?.stop()
  })

  test('every dig command in the README prints what the README shows', async () => {
    const readme = await readFile(new URL('README.md', exampleDir), 'utf8')
    const examples = [
      ...readme.matchAll(/^\$ dig @127\.0\.0\.1 -p 5353 (.*)\n([\s\S]*?)(?=\n\$ |```)/gm),
    ]
    assert.ok(examples.length >= 9, 'the README shows its dig commands')
    for (const [, args = '', expected = ''] of examples) {
      const output = await dig(port, args.split(' '))
      assert.equal(normal(output), normal(expected), `dig ${args}`)
    }
  })

  test('answers are authoritative; a CNAME query gets the CNAME; NODATA is NOERROR with the SOA', async () => {
    const full = await dig(port, ['www.example.test', 'A'])
    assert.match(full, /flags: qr aa rd;/)
    assert.equal(
      (await dig(port, ['ftp.example.test', 'CNAME', '+short'])).trim(),
      'files.example.test.',
    )
    assert.equal((await dig(port, ['docs.example.test', 'A', '+short'])).trim(), 'example.net.')
    const nodata = await dig(port, ['www.example.test', 'TXT'])
    assert.match(nodata, /status: NOERROR/)
    assert.match(nodata, /ANSWER: 0, AUTHORITY: 1/)
    // _tcp.example.test holds nothing but has a name below it: it exists.
    assert.match(await dig(port, ['_tcp.example.test', 'TXT']), /status: NOERROR/)
    const mx = await dig(port, ['example.test', 'MX'])
    assert.match(mx, /ADDITIONAL SECTION:\nmail\.example\.test\.\s+3600\s+IN\s+A\s+192\.0\.2\.25/)
  })

  test('a truncated UDP answer: TC set, within 512 bytes without EDNS', async () => {
    const ignored = await dig(port, ['big.example.test', 'TXT', '+ignore', '+noedns'])
    assert.match(ignored, /flags: qr aa tc rd;/)
    assert.match(ignored, /MSG SIZE {2}rcvd: \d{2}\n/)
    const retried = await dig(port, ['big.example.test', 'TXT', '+noedns'])
    assert.match(retried, /Truncated, retrying in TCP mode/)
    assert.match(retried, /ANSWER: 11,/)
  })

  test('malformed UDP queries get FORMERR or NOTIMP, garbage gets nothing, and dig still works', async () => {
    const client = await udpClient(port)
    try {
      const noQuestion = query(0x1111, 'www.example.test')
      noQuestion.writeUInt16BE(0, 4)
      client.send(noQuestion.subarray(0, 12))
      assert.deepEqual(header(await client.reply()), {
        id: 0x1111,
        qr: true,
        aa: false,
        rcode: RCODE.FORMERR,
        answers: 0,
      })

      // A name that is a compression pointer to itself: a loop.
      const loop = Buffer.concat([
        query(0x2222, '').subarray(0, 12),
        Buffer.of(0xc0, 12, 0, 1, 0, 1),
      ])
      client.send(loop)
      assert.equal(header(await client.reply()).rcode, RCODE.FORMERR)

      // A label that runs past the end of the message.
      client.send(Buffer.concat([query(0x3333, '').subarray(0, 12), Buffer.of(40, 0x61, 0x62)]))
      assert.equal(header(await client.reply()).rcode, RCODE.FORMERR)

      client.send(query(0x4444, 'www.example.test', 1, { opcode: 2 }))
      assert.equal(header(await client.reply()).rcode, RCODE.NOTIMP)

      // Too short for a header, and a "response": no reply. The next reply is the real query's.
      client.send(Buffer.from('hello'))
      const response = query(0x5555, 'www.example.test')
      response[2] = response[2]! | 0x80
      client.send(response)
      for (let i = 0; i < 20; i++) {
        const junk = randomBytes(1 + ((i * 37) % 300))
        junk.fill(0, 0, Math.min(2, junk.length)) // id 0, so that no junk reply passes for the real one
        if (junk.length > 2) junk[2] = junk[2]! & 0x7f // a query: it gets an answer or FORMERR
        client.send(junk)
      }
      client.send(query(0x6666, 'www.example.test'))
      for (;;) {
        const reply = header(await client.reply())
        if (reply.id === 0x6666) {
          assert.deepEqual(reply, { id: 0x6666, qr: true, aa: true, rcode: 0, answers: 2 })
          break
        }
        assert.notEqual(reply.id, 0x5555, 'a response got a reply')
      }
    } finally {
      client.close()
    }
    assert.equal((await dig(port, ['mail.example.test', 'A', '+short'])).trim(), '192.0.2.25')
  })

  test('TCP: several queries on one connection, split across chunks, answered in order', async () => {
    const client = await tcpClient(port)
    try {
      const first = framed(query(1, 'www.example.test'))
      const second = framed(query(2, 'nope.example.test'))
      const third = framed(query(3, 'example.org'))
      const bytes = Buffer.concat([first, second, third])
      // One byte, then a split inside the second query, then the rest.
      for (const [start, end] of [
        [0, 1],
        [1, first.length + 5],
        [first.length + 5, bytes.length],
      ]) {
        client.write(bytes.subarray(start, end))
        if (start === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      const replies = [await client.reply(), await client.reply(), await client.reply()].map(header)
      assert.deepEqual(
        replies.map(({ id, rcode }) => [id, rcode]),
        [
          [1, RCODE.NOERROR],
          [2, RCODE.NXDOMAIN],
          [3, RCODE.REFUSED],
        ],
      )
      // A malformed query in a good frame: FORMERR, and the connection stays.
      client.write(framed(Buffer.concat([query(4, '').subarray(0, 12), Buffer.of(0xc0, 12)])))
      assert.equal(header(await client.reply()).rcode, RCODE.FORMERR)
      client.write(framed(query(5, 'www.example.test', 28)))
      assert.deepEqual(header(await client.reply()), {
        id: 5,
        qr: true,
        aa: true,
        rcode: 0,
        answers: 1,
      })
    } finally {
      client.destroy()
    }
  })

  test('TCP: a frame too short for a header closes the connection; the server keeps serving', async () => {
    const client = await tcpClient(port)
    client.write(Buffer.concat([Buffer.of(0, 3), Buffer.from('abc')]))
    await client.closed
    const again = await dig(port, ['www.example.test', 'AAAA', '+tcp', '+short'])
    assert.equal(again.trim(), '2001:db8::10')
  })

  test('through all of it, the one replica neither crashed nor logged an error', () => {
    assert.equal(cli.output.match(/replica started/g)?.length, 1, cli.output)
    assert.doesNotMatch(cli.output, /error|exited/i)
  })
})

describe('examples/dns zone file', () => {
  const soa = '@ IN SOA ns1 hostmaster 1 7200 900 1209600 300'

  test('reads relative names, $TTL, TTL units and multi-line records', () => {
    const zone = parseZone(
      `$ORIGIN Example.Test.\n$TTL 1h\n${soa}\nwww 5m IN A 192.0.2.1\n  IN TXT ( "a;b" "c\\"d" )\n`,
    )
    assert.equal(zone.origin, 'example.test.')
    const www = zone.records.get('www.example.test.')
    assert.deepEqual(
      www?.map((record) => [record.ttl, record.data.type]),
      [
        [300, 'A'],
        [3600, 'TXT'],
      ],
    )
    const txt = www?.[1]?.data
    assert.ok(txt?.type === 'TXT')
    assert.deepEqual(
      txt.strings.map((bytes) => new TextDecoder().decode(bytes)),
      ['a;b', 'c"d'],
    )
  })

  test('reports a mistake with its line and what to do', () => {
    const bad = (text: string) => () => parseZone(text, 'zone.db')
    assert.throws(
      bad(`$ORIGIN example.test.\n${soa}\nwww IN SRV 1 2 3 x\n`),
      /zone\.db line 3: unknown type "SRV"/,
    )
    assert.throws(
      bad(`$ORIGIN example.test.\n${soa}\nwww IN A 300.1.1.1\n`),
      /line 3: "300\.1\.1\.1" is not an IPv4/,
    )
    assert.throws(
      bad(`$ORIGIN example.test.\n${soa}\nwww IN AAAA 1::2::3\n`),
      /line 3: "1::2::3" is not an IPv6/,
    )
    assert.throws(bad('www 300 IN A 192.0.2.1\n'), /line 1: a record comes before \$ORIGIN/)
    assert.throws(bad('$ORIGIN example.test.\nwww 300 IN A 192.0.2.1\n'), /no SOA record/)
    assert.throws(
      bad(`$ORIGIN example.test.\n${soa}\nwww IN CNAME a\nwww IN A 192.0.2.1\n`),
      /a CNAME stands alone/,
    )
    assert.throws(bad(`$ORIGIN example.test.\n${soa} (\n`), /"\(" is never closed/)
    assert.throws(
      bad(`$ORIGIN example.test.\n${soa}\nx IN TXT "open\n`),
      /line 3: a quoted string is not closed/,
    )
  })
})
