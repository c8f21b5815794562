/**
 * End to end: examples/sip under `sockworker dev`, called by SIPp's built-in
 * UAC scenario (INVITE, 100/180/200, ACK, pause, BYE, 200) and, for what SIPp
 * will not send (OPTIONS, unknown methods, retransmissions, malformed and
 * garbage datagrams), by a node:dgram client writing requests by hand.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { formatResponse, header, parseRequest } from '../../examples/sip/message.ts'
import { type Cli, readyPorts, startCli } from './cli.ts'

const worker = new URL('../../examples/sip/worker.ts', import.meta.url).pathname

let cli: Cli
let port: number
let workdir: string

/** A UDP port free right now, for SIPp's own socket (its default, 5060, may be taken). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  const { port: free } = socket.address()
  socket.close()
  return free
}

/** Runs `sipp -sn uac` for `calls` calls; its exit code and the final statistics. */
async function sipp(calls: number) {
  const local = await freeUdpPort()
  const args = [
    '-sn',
    'uac',
    `127.0.0.1:${port}`,
    ...['-i', '127.0.0.1', '-p', String(local)],
    ...['-m', String(calls), '-r', '50', '-l', '10', '-d', '10', '-timeout', '30s', '-nostdin'],
  ]
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile('sipp', args, { cwd: workdir, timeout: 40_000 }, (error, out) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout: out })
    })
  })
  const counter = (name: string) =>
    Number(new RegExp(`${name}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`).exec(stdout)?.[1])
  return { code, successful: counter('Successful call'), failed: counter('Failed call'), stdout }
}

/** A dgram client on one port (one flow); replies arrive in order. */
async function client() {
  const socket = createSocket('udp4')
  socket.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const { port: localPort } = socket.address()
  return {
    localPort,
    send: (text: string | Buffer) => socket.send(text),
    async reply(): Promise<string> {
      const [message] = (await once(socket, 'message', {
        signal: AbortSignal.timeout(5000),
      })) as [Buffer]
      return message.toString()
    },
    /** The next reply with this CSeq, skipping others (a 200 OK to INVITE sent again by its timer). */
    async replyTo(cseq: string): Promise<string> {
      for (;;) {
        const message = await this.reply()
        if (message.includes(`\r\nCSeq: ${cseq}\r\n`)) return message
      }
    },
    close: () => socket.close(),
    [Symbol.dispose]: () => socket.close(),
  }
}

/** A request as a UAC would write it; `omit` leaves headers out, `extra` adds some. */
function request(
  method: string,
  options: {
    branch?: string
    callId?: string
    cseq?: string
    omit?: string[]
    extra?: string[]
    body?: string
  } = {},
): string {
  const branch = options.branch ?? `z9hG4bK${Math.random().toString(36).slice(2)}`
  const lines = [
    `${method} sip:service@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:9;branch=${branch}`,
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKproxy',
    'From: <sip:alice@127.0.0.1>;tag=alice1',
    `To: <sip:service@127.0.0.1:${port}>`,
    `Call-ID: ${options.callId ?? `${branch}@127.0.0.1`}`,
    `CSeq: ${options.cseq ?? `1 ${method}`}`,
    'Max-Forwards: 70',
    ...(options.extra ?? []),
  ].filter((line) => !options.omit?.some((name) => line.startsWith(`${name}:`)))
  const body = options.body ?? ''
  return `${[...lines, `Content-Length: ${Buffer.byteLength(body)}`].join('\r\n')}\r\n\r\n${body}`
}

/** The status code of a response. */
const status = (response: string) => Number(/^SIP\/2\.0 (\d{3}) /.exec(response)?.[1])

/** Reads a response's headers with the request reader (the header syntax is the same). */
function headersOf(response: string) {
  const asRequest = response.replace(/^SIP\/2\.0 \d{3} [^\r]*/, 'X sip:x SIP/2.0')
  const parsed = parseRequest(Buffer.from(asRequest))
  assert.ok(parsed, `a readable response:\n${response}`)
  return parsed
}

describe('examples/sip with sipp', { concurrency: false }, () => {
  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'sockworker-sipp-'))
    cli = startCli(['dev', worker, '--udp', '127.0.0.1:0'])
    ;({ udp: port = 0 } = await readyPorts(cli, ['udp']))
  })

  after(async () => {
    await cli?.stop()
    await rm(workdir, { recursive: true, force: true })
  })

  test('sipp -sn uac: 100 calls, 0 failed', async () => {
    const run = await sipp(100)
    assert.equal(run.code, 0, run.stdout)
    assert.equal(run.successful, 100, run.stdout)
    assert.equal(run.failed, 0, run.stdout)
  })

  test('OPTIONS gets 200 with every Via in order, From, To, Call-ID, CSeq, Allow', async () => {
    using peer = await client()
    peer.send(request('OPTIONS', { branch: 'z9hG4bKopt1', callId: 'opt1@x', cseq: '7 OPTIONS' }))
    const reply = await peer.reply()
    assert.equal(status(reply), 200, reply)
    const parsed = headersOf(reply)
    assert.deepEqual(
      parsed.headers.filter((line) => line.key === 'via').map((line) => line.value),
      [
        'SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKopt1',
        'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKproxy',
      ],
    )
    assert.equal(header(parsed, 'from'), '<sip:alice@127.0.0.1>;tag=alice1')
    assert.equal(header(parsed, 'call-id'), 'opt1@x')
    assert.equal(header(parsed, 'cseq'), '7 OPTIONS')
    assert.match(header(parsed, 'allow') ?? '', /INVITE, ACK, BYE, CANCEL, OPTIONS/)
    assert.equal(header(parsed, 'content-length'), '0')
  })

  test('compact header forms and any case are read', async () => {
    using peer = await client()
    const compact = request('OPTIONS', { callId: 'compact@x' })
      .replace(/^Via:/gm, 'v:')
      .replace(/^From:/m, 'f:')
      .replace(/^To:/m, 't:')
      .replace(/^Call-ID:/m, 'i:')
      .replace(/^CSeq:/m, 'cseq:')
      .replace(/^Content-Length:/m, 'l:')
    peer.send(compact)
    const reply = await peer.reply()
    assert.equal(status(reply), 200, reply)
    assert.match(reply, /\r\nCall-ID: compact@x\r\n/)
    assert.equal(reply.match(/\r\nVia: /g)?.length, 2)
  })

  test('an unknown method gets 501 Not Implemented with Allow', async () => {
    using peer = await client()
    peer.send(request('PUBLISH'))
    const reply = await peer.reply()
    assert.match(reply, /^SIP\/2\.0 501 Not Implemented\r\n/)
    assert.match(reply, /\r\nAllow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n/)
  })

  test('INVITE: 100, 180, 200 with SDP; a retransmission gets the same 200; ACK gets nothing; BYE ends the call', async () => {
    using peer = await client()
    const sdp =
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n'
    const invite = request('INVITE', {
      branch: 'z9hG4bKcall1',
      callId: 'call1@x',
      extra: ['Contact: <sip:alice@127.0.0.1:9>', 'Content-Type: application/sdp'],
      body: sdp,
    })
    peer.send(invite)
    const [trying, ringing, ok] = [await peer.reply(), await peer.reply(), await peer.reply()]
    assert.equal(status(trying), 100)
    assert.doesNotMatch(trying, /\r\nTo: [^\r]*;tag=/, '100 Trying adds no To tag')
    assert.equal(status(ringing), 180)
    assert.equal(status(ok), 200)
    const tag = /\r\nTo: [^\r]*;tag=([^;\r]+)/.exec(ok)?.[1]
    assert.ok(tag, ok)
    assert.match(ringing, new RegExp(`;tag=${tag}\\r\\n`), 'the 180 and the 200 carry one To tag')
    assert.match(ok, /\r\nContact: <sip:uas@127\.0\.0\.1:\d+>\r\n/)
    assert.match(ok, /\r\nContent-Type: application\/sdp\r\n/)
    const body = ok.slice(ok.indexOf('\r\n\r\n') + 4)
    assert.equal(Number(header(headersOf(ok), 'content-length')), Buffer.byteLength(body))
    for (const line of ['v=0', 'c=IN IP4 127.0.0.1', 't=0 0', 'a=rtpmap:0 PCMU/8000']) {
      assert.ok(body.split('\r\n').includes(line), `SDP has ${line}:\n${body}`)
    }
    assert.match(body, /^o=\S+ \d+ \d+ IN IP4 127\.0\.0\.1\r\n/m)
    assert.match(body, /^s=\S+\r\n/m)
    assert.match(body, /^m=audio \d+ RTP\/AVP 0\r\n/m)

    peer.send(invite)
    assert.equal(
      await peer.reply(),
      ok,
      'the retransmitted INVITE gets the very same final response',
    )

    const to = `To: <sip:service@127.0.0.1:${port}>;tag=${tag}`
    const inDialog = (method: string, cseq: string) =>
      request(method, { callId: 'call1@x', cseq }).replace(/^To: .*$/m, to)
    peer.send(inDialog('ACK', '1 ACK'))
    peer.send(inDialog('BYE', '2 BYE'))
    const bye = await peer.replyTo('2 BYE')
    assert.equal(status(bye), 200)
    assert.ok(bye.includes(`\r\n${to}\r\n`))

    peer.send(inDialog('BYE', '3 BYE'))
    assert.equal(status(await peer.replyTo('3 BYE')), 481, 'the call is over')
    peer.send(request('CANCEL', { branch: 'z9hG4bKnever' }))
    assert.equal(status(await peer.replyTo('1 CANCEL')), 481, 'a CANCEL for no INVITE')
    peer.send(request('CANCEL', { branch: 'z9hG4bKcall1', callId: 'call1@x' }))
    assert.equal(
      status(await peer.replyTo('1 CANCEL')),
      200,
      'a CANCEL after the 200 OK: no effect',
    )
  })

  test('a 200 OK to INVITE is sent again until the ACK comes', async () => {
    using peer = await client()
    peer.send(request('INVITE', { callId: 'no-ack@x' }))
    const replies = [await peer.reply(), await peer.reply(), await peer.reply()]
    const ok = replies[2] ?? ''
    assert.equal(status(ok), 200, ok)
    // The first retransmission comes after T1 (500 ms), without a new INVITE.
    assert.equal(await peer.reply(), ok)
    const to = /^To: .*$/m.exec(ok)?.[0] ?? ''
    peer.send(request('ACK', { callId: 'no-ack@x' }).replace(/^To: .*$/m, to))
    peer.send(request('OPTIONS', { callId: 'after-ack@x' }))
    // Anything after the ACK is not a 200 to INVITE any more: the next reply is the OPTIONS's.
    const next = await peer.reply()
    assert.match(next, /\r\nCall-ID: after-ack@x\r\n/)
    peer.send(request('BYE', { callId: 'no-ack@x', cseq: '2 BYE' }).replace(/^To: .*$/m, to))
    assert.equal(status(await peer.replyTo('2 BYE')), 200)
  })

  test('malformed requests get 400; garbage, responses and keep-alives get nothing', async () => {
    using peer = await client()
    const bad = async (text: string, problem: RegExp) => {
      peer.send(text)
      const reply = await peer.reply()
      assert.equal(status(reply), 400, reply)
      assert.match(reply, /\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:9;branch=/)
      assert.match(reply, problem)
    }
    await bad(
      request('OPTIONS', { omit: ['Call-ID'] }),
      /Warning: 399 \S+ "missing call-id header"/,
    )
    await bad(request('OPTIONS', { cseq: 'one OPTIONS' }), /"bad CSeq header"/)
    await bad(request('OPTIONS', { cseq: '99999999999 OPTIONS' }), /"bad CSeq header"/)
    await bad(request('OPTIONS', { cseq: '1 INVITE' }), /"CSeq method does not match the request"/)
    await bad(request('OPTIONS').split('\r\n').slice(1).join('\r\n'), /"no request line"/)
    await bad(
      request('OPTIONS').replace('Content-Length: 0', 'Content-Length: 50'),
      /shorter than Content-Length/,
    )

    peer.send(request('OPTIONS').replace(' SIP/2.0\r\n', ' SIP/3.0\r\n'))
    assert.match(await peer.reply(), /^SIP\/2\.0 505 Version Not Supported\r\n/)

    peer.send(Buffer.from([0, 1, 2, 3, 0xff, 0xfe]))
    peer.send('hello\r\n\r\n')
    peer.send('\r\n\r\n')
    peer.send(request('OPTIONS').replace(/^OPTIONS \S+ SIP\/2\.0/, 'SIP/2.0 200 OK'))
    peer.send(request('OPTIONS', { omit: ['Via'] }))
    for (let i = 0; i < 20; i++)
      peer.send(Buffer.from(crypto.getRandomValues(new Uint8Array(1 + i * 50))))
    peer.send(request('OPTIONS', { callId: 'after-garbage@x' }))
    const reply = await peer.reply()
    assert.equal(
      status(reply),
      200,
      `the first reply after the garbage is the OPTIONS's:\n${reply}`,
    )
    assert.match(reply, /\r\nCall-ID: after-garbage@x\r\n/)

    const run = await sipp(20)
    assert.equal(run.code, 0, run.stdout)
    assert.equal(run.successful, 20, run.stdout)
  })

  test('through all of it, the one replica neither crashed nor logged an error', () => {
    assert.equal(cli.output.match(/replica started/g)?.length, 1, cli.output)
    assert.doesNotMatch(cli.output, /error|exited/i)
  })
})

describe('examples/sip message reader', () => {
  const read = (text: string) => parseRequest(new TextEncoder().encode(text))
  const head = [
    'INVITE sip:bob@example.test SIP/2.0',
    'v: SIP/2.0/UDP a.example.test;branch=z9hG4bK1,',
    ' SIP/2.0/UDP b.example.test;branch=z9hG4bK2',
    'f: <sip:alice@example.test>;tag=1',
    't: <sip:bob@example.test>',
    'i: abc',
    'CSEQ: 5 INVITE',
  ]

  test('unfolds continuation lines and maps compact names to long ones', () => {
    const request = read(`${head.join('\r\n')}\r\nl: 0\r\n\r\n`)
    assert.ok(request)
    assert.equal(request.problem, undefined)
    assert.equal(
      header(request, 'via'),
      'SIP/2.0/UDP a.example.test;branch=z9hG4bK1, SIP/2.0/UDP b.example.test;branch=z9hG4bK2',
    )
    assert.equal(header(request, 'call-id'), 'abc')
  })

  test('Content-Length trims what follows the body; bare LF line ends are read too', () => {
    const request = read(`${head.join('\n')}\nContent-Length: 4\n\nv=0\nJUNK`)
    assert.equal(request?.problem, undefined)
    assert.equal(request?.body, 'v=0\n')
  })

  test('a response copies Via lines as sent and counts the body in bytes', () => {
    const request = read(`${head.join('\r\n')}\r\n\r\n`)
    assert.ok(request)
    const text = new TextDecoder().decode(
      formatResponse(request, { status: 200, body: 'é', contentType: 'text/plain' }),
    )
    assert.match(
      text,
      /^SIP\/2\.0 200 OK\r\nVia: SIP\/2\.0\/UDP a\.example\.test;branch=z9hG4bK1, /,
    )
    assert.match(text, /\r\nCSeq: 5 INVITE\r\n/)
    assert.match(text, /\r\nContent-Length: 2\r\n\r\né$/)
  })

  test('not SIP at all: undefined, so it gets no reply', () => {
    assert.equal(read(''), undefined)
    assert.equal(read('\r\n\r\n'), undefined)
    assert.equal(read('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), undefined)
    assert.equal(read('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK1\r\n\r\n'), undefined)
    assert.equal(read('OPTIONS sip:x SIP/2.0\r\nthis is not a header\r\n\r\n'), undefined)
  })
})
