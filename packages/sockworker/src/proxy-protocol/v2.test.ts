import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type ParseResult, type ProxyHeader, parseProxyHeader } from './parse.ts'
import { crc32c } from './tlv.ts'
import { encodeProxyHeaderV2, V2_SIGNATURE } from './v2.ts'

const encoder = new TextEncoder()

/** A raw v2 header: signature, ver_cmd, fam, the length of `rest`, then `rest`. */
function raw(verCmd: number, fam: number, rest: number[] | Uint8Array = []): Uint8Array {
  const body = Uint8Array.from(rest)
  const out = new Uint8Array(16 + body.length)
  out.set(V2_SIGNATURE)
  out.set([verCmd, fam, body.length >> 8, body.length & 0xff], 12)
  out.set(body, 16)
  return out
}

function done(result: ParseResult): { header: ProxyHeader; consumed: number } {
  assert.equal(result.status, 'done', JSON.stringify(result))
  if (result.status !== 'done') return assert.fail()
  return { header: result.header, consumed: result.consumed }
}

function reason(result: ParseResult): string {
  assert.equal(result.status, 'invalid', JSON.stringify(result))
  return result.status === 'invalid' ? result.reason : ''
}

describe('PROXY v2: addresses', () => {
  test('TCP over IPv4', () => {
    const bytes = raw(0x21, 0x11, [10, 0, 0, 1, 192, 168, 1, 2, 0xdb, 0x84, 0x01, 0xbb])
    assert.deepEqual(done(parseProxyHeader(bytes, 'v2')), {
      header: {
        version: 2,
        command: 'proxy',
        protocol: 'tcp4',
        sourceAddress: '10.0.0.1',
        sourcePort: 56196,
        destinationAddress: '192.168.1.2',
        destinationPort: 443,
        tlvs: [],
      },
      consumed: 28,
    })
  })

  test('UDP over IPv6', () => {
    const src = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]
    const dst = [...new Array(15).fill(0), 1]
    const { header } = done(
      parseProxyHeader(raw(0x21, 0x22, [...src, ...dst, 0, 53, 0, 54]), 'any'),
    )
    assert.equal(header.protocol, 'udp6')
    assert.equal(header.sourceAddress, '2001:db8::1')
    assert.equal(header.destinationAddress, '::1')
    assert.equal(header.sourcePort, 53)
    assert.equal(header.destinationPort, 54)
  })

  test('LOCAL carries no addresses, even when the block has some', () => {
    assert.deepEqual(done(parseProxyHeader(raw(0x20, 0x00), 'v2')), {
      header: { version: 2, command: 'local', protocol: 'unknown', tlvs: [] },
      consumed: 16,
    })
    // Spec 2.2: receivers must skip `len` bytes and not assume zero for LOCAL.
    const withBlock = raw(0x20, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2])
    const { header, consumed } = done(parseProxyHeader(withBlock, 'v2'))
    assert.equal(header.sourceAddress, undefined)
    assert.equal(consumed, 28)
  })

  test('AF_UNSPEC, AF_UNIX and transport UNSPEC mean "unknown"', () => {
    for (const fam of [0x00, 0x31, 0x32, 0x10, 0x20]) {
      const block = fam >> 4 === 3 ? new Uint8Array(216).fill(0x41) : new Uint8Array(0)
      const { header } = done(parseProxyHeader(raw(0x21, fam, block), 'v2'))
      assert.equal(header.protocol, 'unknown', `fam 0x${fam.toString(16)}`)
      assert.equal(header.sourceAddress, undefined)
    }
  })

  test('payload after the header is left alone', () => {
    const header = raw(0x21, 0x11, [1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 2])
    const bytes = new Uint8Array([...header, ...encoder.encode('\r\nQUIT\n')])
    const { consumed } = done(parseProxyHeader(bytes, 'v2'))
    assert.equal(new TextDecoder().decode(bytes.subarray(consumed)), '\r\nQUIT\n')
  })
})

describe('PROXY v2: TLVs', () => {
  const address = [127, 0, 0, 1, 127, 0, 0, 1, 0, 1, 0, 2]

  test('are parsed generically, in order, as copies', () => {
    const tlvs = [0x02, 0, 3, 0x61, 0x62, 0x63, 0x04, 0, 0, 0xe0, 0, 2, 0xff, 0xee]
    const bytes = raw(0x21, 0x11, [...address, ...tlvs])
    const { header } = done(parseProxyHeader(bytes, 'v2'))
    assert.deepEqual(header.tlvs, [
      { type: 0x02, value: encoder.encode('abc') },
      { type: 0x04, value: new Uint8Array(0) },
      { type: 0xe0, value: Uint8Array.of(0xff, 0xee) },
    ])
    bytes.fill(0)
    assert.deepEqual(header.tlvs?.[0]?.value, encoder.encode('abc'), 'a TLV aliases the buffer')
  })

  test('a TLV that overruns the header, or a cut TLV header, is invalid', () => {
    assert.match(
      reason(parseProxyHeader(raw(0x21, 0x11, [...address, 0x02, 0, 9, 0x61]), 'v2')),
      /TLV 0x02 claims 9 bytes but the header has 1 left/,
    )
    assert.match(
      reason(parseProxyHeader(raw(0x21, 0x11, [...address, 0x02, 0]), 'v2')),
      /cut short: 2 bytes left/,
    )
  })

  test('LOCAL keeps well-formed TLVs and skips garbage', () => {
    const good = done(parseProxyHeader(raw(0x20, 0x00, [0x05, 0, 1, 0x7a]), 'v2'))
    assert.deepEqual(good.header.tlvs, [{ type: 5, value: Uint8Array.of(0x7a) }])
    const junk = done(parseProxyHeader(raw(0x20, 0x00, [0x05, 0xff, 0xff]), 'v2'))
    assert.deepEqual(junk.header.tlvs, [])
  })

  test('a CRC32C TLV is verified', () => {
    const header: ProxyHeader = {
      version: 2,
      command: 'proxy',
      protocol: 'tcp4',
      sourceAddress: '127.0.0.2',
      sourcePort: 1234,
      destinationAddress: '127.0.0.1',
      destinationPort: 80,
      tlvs: [{ type: 0x02, value: encoder.encode('example.com') }],
    }
    const bytes = encodeProxyHeaderV2(header, { crc32c: true })
    const parsed = done(parseProxyHeader(bytes, 'v2'))
    assert.equal(parsed.header.tlvs?.[1]?.type, 0x03)
    // The checksum is over the whole header with its own field zeroed.
    const zeroed = bytes.slice()
    zeroed.fill(0, bytes.length - 4)
    const crc = new DataView(bytes.buffer).getUint32(bytes.length - 4)
    assert.equal(crc, crc32c(zeroed))

    const corrupt = bytes.slice()
    corrupt[20] = 0xff // a byte of the source address
    assert.match(reason(parseProxyHeader(corrupt, 'v2')), /CRC32C mismatch/)
    const short = raw(0x21, 0x11, [...address, 0x03, 0, 2, 0, 0])
    assert.match(reason(parseProxyHeader(short, 'v2')), /CRC32C TLV holds 2 bytes: expected 4/)
  })

  test('crc32c matches the standard check value', () => {
    assert.equal(crc32c(encoder.encode('123456789')), 0xe3069283)
    assert.equal(crc32c(new Uint8Array(0)), 0)
  })
})

describe('PROXY v2: malformed headers', () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['version 1 in the binary form', raw(0x11, 0x11), /unsupported version 1.*expected 2/],
    ['version 3', raw(0x31, 0x11), /unsupported version 3/],
    ['command 2', raw(0x22, 0x11), /unsupported command 2.*LOCAL.*PROXY/],
    ['family 4', raw(0x21, 0x41), /byte 14 is 0x41/],
    ['transport 3', raw(0x21, 0x13), /byte 14 is 0x13/],
    ['IPv4 block too short', raw(0x21, 0x11, [1, 2, 3, 4]), /4 bytes is too short for AF_INET/],
    ['IPv6 block too short', raw(0x21, 0x21, new Uint8Array(12)), /AF_INET6: expected .* 36/],
  ]
  for (const [name, bytes, pattern] of cases) {
    test(name, () => assert.match(reason(parseProxyHeader(bytes, 'v2')), pattern))
  }

  test('a bad version byte is refused before the rest arrives', () => {
    const bytes = raw(0x11, 0x11)
    assert.equal(parseProxyHeader(bytes.subarray(0, 12), 'v2').status, 'incomplete')
    assert.match(reason(parseProxyHeader(bytes.subarray(0, 13), 'v2')), /unsupported version/)
  })

  test('a length past the buffer waits for the rest, however large', () => {
    const bytes = raw(0x21, 0x11, new Uint8Array(0xffff))
    assert.equal(parseProxyHeader(bytes.subarray(0, bytes.length - 1), 'v2').status, 'incomplete')
    assert.equal(done(parseProxyHeader(bytes, 'v2')).consumed, 16 + 0xffff)
  })
})

describe('encodeProxyHeaderV2', () => {
  test('round-trips every protocol through the parser', () => {
    const headers: ProxyHeader[] = [
      { version: 2, command: 'local', protocol: 'unknown', tlvs: [] },
      {
        version: 2,
        command: 'proxy',
        protocol: 'unknown',
        tlvs: [{ type: 1, value: encoder.encode('h2') }],
      },
      ...(['tcp4', 'udp4'] as const).map((protocol) => ({
        version: 2 as const,
        command: 'proxy' as const,
        protocol,
        sourceAddress: '203.0.113.9',
        sourcePort: 65535,
        destinationAddress: '198.51.100.1',
        destinationPort: 0,
        tlvs: [],
      })),
      ...(['tcp6', 'udp6'] as const).map((protocol) => ({
        version: 2 as const,
        command: 'proxy' as const,
        protocol,
        sourceAddress: '2001:db8::9',
        sourcePort: 1,
        destinationAddress: '::ffff:127.0.0.1',
        destinationPort: 2,
        tlvs: [],
      })),
    ]
    for (const header of headers) {
      const bytes = encodeProxyHeaderV2(header)
      assert.deepEqual(parseProxyHeader(bytes, 'v2'), {
        status: 'done',
        header,
        consumed: bytes.length,
      })
    }
  })

  test('refuses bad addresses, ports and oversized TLVs', () => {
    const base = { version: 2, command: 'proxy', sourcePort: 1, destinationPort: 2 } as const
    assert.throws(
      () =>
        encodeProxyHeaderV2({
          ...base,
          protocol: 'tcp6',
          sourceAddress: '1.2.3.4',
          destinationAddress: '::1',
        }),
      /Invalid sourceAddress "1.2.3.4": expected an IPv6 address/,
    )
    assert.throws(
      () =>
        encodeProxyHeaderV2({
          ...base,
          protocol: 'udp4',
          sourceAddress: '1.2.3.4',
          destinationAddress: '1.2.3.4',
          destinationPort: -1,
        }),
      RangeError,
    )
    const big = { type: 0xe0, value: new Uint8Array(0x10000) }
    assert.throws(
      () => encodeProxyHeaderV2({ version: 2, command: 'local', protocol: 'unknown', tlvs: [big] }),
      /at most 65535 fit/,
    )
    const two = [0x8000, 0x8000].map((n) => ({ type: 0xe0, value: new Uint8Array(n) }))
    assert.throws(
      () => encodeProxyHeaderV2({ version: 2, command: 'local', protocol: 'unknown', tlvs: two }),
      /Cannot encode a PROXY v2 header of 65542 bytes/,
    )
  })
})
