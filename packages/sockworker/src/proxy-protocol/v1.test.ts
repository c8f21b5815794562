import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type ParseResult, parseProxyHeader } from './parse.ts'
import { encodeProxyHeaderV1, V1_MAX_LENGTH } from './v1.ts'

const encoder = new TextEncoder()
const parse = (text: string): ParseResult => parseProxyHeader(encoder.encode(text), 'v1')

function reason(result: ParseResult): string {
  assert.equal(result.status, 'invalid', JSON.stringify(result))
  return result.status === 'invalid' ? result.reason : ''
}

describe('PROXY v1: valid lines', () => {
  test('TCP4', () => {
    assert.deepEqual(parse('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'), {
      status: 'done',
      header: {
        version: 1,
        command: 'proxy',
        protocol: 'tcp4',
        sourceAddress: '192.168.0.1',
        sourcePort: 56324,
        destinationAddress: '192.168.0.11',
        destinationPort: 443,
      },
      consumed: 47,
    })
  })

  test('TCP6, with addresses reported in canonical form', () => {
    const result = parse('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::ffff:10.0.0.1 0 65535\r\n')
    assert.equal(result.status, 'done')
    assert.deepEqual(result.status === 'done' && result.header, {
      version: 1,
      command: 'proxy',
      protocol: 'tcp6',
      sourceAddress: '2001:db8::1',
      sourcePort: 0,
      destinationAddress: '::ffff:10.0.0.1',
      destinationPort: 65535,
    })
  })

  test('UNKNOWN, short form and with ignored fields', () => {
    const header = { version: 1, command: 'proxy', protocol: 'unknown' }
    assert.deepEqual(parse('PROXY UNKNOWN\r\n'), { status: 'done', header, consumed: 15 })
    const long = 'PROXY UNKNOWN whatever comes here is ignored\r\n'
    assert.deepEqual(parse(long), { status: 'done', header, consumed: long.length })
  })

  test('the longest line allowed (107 bytes) is accepted', () => {
    const v6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
    const line = `PROXY UNKNOWN ${v6} ${v6} 65535 65535\r\n`
    assert.equal(line.length, V1_MAX_LENGTH)
    assert.equal(parse(line).status, 'done')
    const tcp6 = `PROXY TCP6 ${v6} ${v6} 65535 65535\r\n`
    assert.equal(parse(tcp6).status, 'done')
  })

  test('bytes after the CRLF are payload: `consumed` stops at the CRLF', () => {
    const bytes = encoder.encode('PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\nEHLO x\r\n')
    const result = parseProxyHeader(bytes, 'any')
    assert.equal(result.status, 'done')
    const consumed = result.status === 'done' ? result.consumed : 0
    assert.equal(new TextDecoder().decode(bytes.subarray(consumed)), 'EHLO x\r\n')
  })
})

describe('PROXY v1: malformed lines', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['bad protocol', 'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n', /unsupported protocol "TCP5"/],
    ['lower case protocol', 'PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n', /unsupported protocol "tcp4"/],
    ['UDP', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', /unsupported protocol/],
    ['no space after PROXY', 'PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n', /space after "PROXY"/],
    ['double space', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', /single spaces/],
    ['missing port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', /single spaces/],
    ['extra field', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n', /single spaces/],
    ['trailing space', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n', /single spaces/],
    ['bad IPv4', 'PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n', /source address "1.2.3.256"/],
    ['octal-looking IPv4', 'PROXY TCP4 1.2.3.4 05.6.7.8 1 2\r\n', /destination address/],
    ['IPv6 in TCP4', 'PROXY TCP4 ::1 ::1 1 2\r\n', /TCP4 expects an IPv4 address/],
    ['IPv4 in TCP6', 'PROXY TCP6 1.2.3.4 ::1 1 2\r\n', /TCP6 expects an IPv6 address/],
    ['an IPv6 zone', 'PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', /TCP6 expects an IPv6 address/],
    ['host name', 'PROXY TCP4 localhost 5.6.7.8 1 2\r\n', /source address "localhost"/],
    ['port too big', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', /source port "65536"/],
    ['port with leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 080\r\n', /destination port "080"/],
    ['negative port', 'PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n', /source port "-1"/],
    ['hex port', 'PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n', /source port/],
    ['lone LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', /lone line feed/],
    ['CR not followed by LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX', /line feed after the carriage/],
    ['control byte', 'PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n', /byte 0x09 at offset 18/],
    ['non-ASCII', 'PROXY UNKNOWN é\r\n', /US-ASCII/],
  ]
  for (const [name, line, pattern] of cases) {
    test(name, () => assert.match(reason(parse(line)), pattern))
  }

  test('a line with no CRLF in 107 bytes is refused, not waited for', () => {
    const line = `PROXY UNKNOWN ${'x'.repeat(200)}`
    assert.equal(parse(line.slice(0, V1_MAX_LENGTH - 1)).status, 'incomplete')
    assert.match(reason(parse(line.slice(0, V1_MAX_LENGTH))), /CRLF within the first 107 bytes/)
    assert.match(reason(parse(line)), /CRLF within the first 107 bytes/)
    // A CR as the 107th byte cannot be followed by its LF in time.
    assert.match(reason(parse(`${line.slice(0, V1_MAX_LENGTH - 1)}\r\n`)), /107 bytes/)
  })

  test('a reason quotes the line safely', () => {
    assert.match(reason(parse('PROXY TCP4 "a" 5.6.7.8 1 2\r\n')), /source address "\\"a\\""/)
  })
})

describe('encodeProxyHeaderV1', () => {
  test('round-trips through the parser', () => {
    const header = {
      version: 1,
      command: 'proxy',
      protocol: 'tcp6',
      sourceAddress: '2001:db8::1',
      sourcePort: 40000,
      destinationAddress: '::1',
      destinationPort: 25,
    } as const
    const bytes = encodeProxyHeaderV1(header)
    assert.equal(new TextDecoder().decode(bytes), 'PROXY TCP6 2001:db8::1 ::1 40000 25\r\n')
    assert.deepEqual(parseProxyHeader(bytes, 'v1'), {
      status: 'done',
      header,
      consumed: bytes.length,
    })
  })

  test('LOCAL and unknown become PROXY UNKNOWN', () => {
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
    assert.equal(
      text(encodeProxyHeaderV1({ version: 1, command: 'local', protocol: 'tcp4' })),
      'PROXY UNKNOWN\r\n',
    )
    assert.equal(
      text(encodeProxyHeaderV1({ version: 1, command: 'proxy', protocol: 'unknown' })),
      'PROXY UNKNOWN\r\n',
    )
  })

  test('refuses what v1 cannot say', () => {
    const base = { version: 1, command: 'proxy', sourcePort: 1, destinationPort: 2 } as const
    assert.throws(
      () => encodeProxyHeaderV1({ ...base, protocol: 'udp4', sourceAddress: '1.2.3.4' }),
      /v1 carries tcp4 and tcp6 only/,
    )
    assert.throws(
      () =>
        encodeProxyHeaderV1({
          ...base,
          protocol: 'tcp4',
          sourceAddress: '::1',
          destinationAddress: '1.2.3.4',
        }),
      /Invalid sourceAddress "::1": expected an IPv4 address/,
    )
    assert.throws(
      () =>
        encodeProxyHeaderV1({
          ...base,
          protocol: 'tcp4',
          sourceAddress: '1.2.3.4',
          destinationAddress: '1.2.3.4',
          sourcePort: 70000,
        }),
      RangeError,
    )
  })
})
