import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  type ParseResult,
  type ProxyHeader,
  type ProxyVersion,
  parseProxyHeader,
  previewBytes,
  V1_MAX_LENGTH,
  V2_MAX_LENGTH,
} from './parse.ts'

const encoder = new TextEncoder()

const TCP4: ProxyHeader = {
  version: 1,
  command: 'proxy',
  protocol: 'tcp4',
  sourceAddress: '1.2.3.4',
  sourcePort: 1111,
  destinationAddress: '5.6.7.8',
  destinationPort: 2222,
}
const V1 = encodeProxyHeaderV1(TCP4)
const V2 = encodeProxyHeaderV2(
  { ...TCP4, version: 2, tlvs: [{ type: 0x02, value: encoder.encode('example.com') }] },
  { crc32c: true },
)

function reason(result: ParseResult): string {
  assert.equal(result.status, 'invalid', JSON.stringify(result))
  return result.status === 'invalid' ? result.reason : ''
}

/** Feeds `bytes` one more byte at a time and returns the first result that is not incomplete. */
function feedByteByByte(
  bytes: Uint8Array,
  accept: ProxyVersion,
): { result: ParseResult; at: number } {
  for (let n = 0; n <= bytes.length; n++) {
    const result = parseProxyHeader(bytes.subarray(0, n), accept)
    if (result.status !== 'incomplete') return { result, at: n }
  }
  return { result: { status: 'incomplete' }, at: bytes.length }
}

describe('parseProxyHeader: versions and signatures', () => {
  test('"any" accepts both versions', () => {
    assert.equal(parseProxyHeader(V1, 'any').status, 'done')
    assert.equal(parseProxyHeader(V2, 'any').status, 'done')
  })

  test('"v1" refuses a v2 header and "v2" a v1 header, naming both', () => {
    assert.equal(
      reason(parseProxyHeader(V2, 'v1')),
      'got a PROXY protocol v2 header, but this listener accepts v1 only',
    )
    assert.equal(
      reason(parseProxyHeader(V1, 'v2')),
      'got a PROXY protocol v1 header, but this listener accepts v2 only',
    )
  })

  test('anything else is refused with a safe preview', () => {
    const http = encoder.encode('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n')
    assert.equal(
      reason(parseProxyHeader(http, 'any')),
      'expected a PROXY protocol header, got "GET / HTTP/1.1\\r\\n"...',
    )
    assert.equal(
      reason(parseProxyHeader(Uint8Array.of(0x16, 0x03, 0x01, 0x22, 0x5c), 'v2')),
      'expected a PROXY protocol v2 header, got "\\x16\\x03\\x01\\"\\\\"',
    )
    assert.match(
      reason(parseProxyHeader(encoder.encode('proxy TCP4'), 'v1')),
      /v1 header, got "proxy TCP4"$/,
    )
  })

  test('the first byte that rules out both signatures is refused at once', () => {
    assert.equal(feedByteByByte(encoder.encode('SSH-2.0-OpenSSH'), 'any').at, 1)
    assert.equal(feedByteByByte(encoder.encode('PROXZ TCP4'), 'any').at, 5)
    assert.equal(feedByteByByte(encoder.encode('\r\n\r\nhello'), 'any').at, 5)
  })

  test('an empty buffer is incomplete', () => {
    for (const accept of ['v1', 'v2', 'any'] as const) {
      assert.deepEqual(parseProxyHeader(new Uint8Array(0), accept), { status: 'incomplete' })
    }
  })

  test('an unknown `accept` is a caller mistake and throws', () => {
    assert.throws(
      () => parseProxyHeader(V1, 'v3' as ProxyVersion),
      /Invalid PROXY protocol version "v3": expected "v1", "v2" or "any"/,
    )
  })
})

describe('parseProxyHeader: byte by byte', () => {
  const payload = encoder.encode('payload \r\n\r\n\0\r\nQUIT\n')

  for (const [name, header] of [
    ['v1', V1],
    ['v2', V2],
    ['v1 UNKNOWN', encoder.encode('PROXY UNKNOWN\r\n')],
    ['v2 LOCAL', encodeProxyHeaderV2({ version: 2, command: 'local', protocol: 'unknown' })],
  ] as const) {
    test(`${name}: incomplete until the last header byte, then done with the payload intact`, () => {
      const bytes = new Uint8Array([...header, ...payload])
      for (let n = 0; n < header.length; n++) {
        const result = parseProxyHeader(bytes.subarray(0, n), 'any')
        assert.equal(result.status, 'incomplete', `after ${n} bytes: ${JSON.stringify(result)}`)
      }
      for (let n = header.length; n <= bytes.length; n++) {
        const result = parseProxyHeader(bytes.subarray(0, n), 'any')
        assert.equal(result.status, 'done', `after ${n} bytes`)
        assert.equal(result.status === 'done' && result.consumed, header.length)
      }
    })
  }

  test('a wrong-version header is refused once its signature is complete', () => {
    assert.deepEqual(feedByteByByte(V2, 'v1').at, 12)
    assert.deepEqual(feedByteByByte(V1, 'v2').at, 5)
  })
})

describe('parseProxyHeader: fuzz', () => {
  /** A small seeded generator, so that a failure reproduces. */
  function generator(seed: number): (below: number) => number {
    let state = seed
    return (below) => {
      state = (state + 0x6d2b79f5) >>> 0
      let t = Math.imul(state ^ (state >>> 15), 1 | state)
      t ^= t + Math.imul(t ^ (t >>> 7), 61 | t)
      return (((t ^ (t >>> 14)) >>> 0) % below) >>> 0
    }
  }

  function checkResult(bytes: Uint8Array, accept: ProxyVersion): void {
    let result: ParseResult
    try {
      result = parseProxyHeader(bytes, accept)
    } catch (error) {
      assert.fail(`threw on ${Buffer.from(bytes).toString('hex')}: ${error}`)
    }
    if (result.status === 'done') assert.ok(result.consumed > 0 && result.consumed <= bytes.length)
    if (result.status === 'invalid') assert.ok(result.reason.length > 0)
    if (result.status === 'incomplete') {
      assert.ok(bytes.length < Math.max(V1_MAX_LENGTH, V2_MAX_LENGTH))
    }
  }

  test('random bytes, random prefixes and mutated headers never throw', () => {
    const random = generator(0x5eed)
    const seeds = [V1, V2, encoder.encode('PROXY TCP6 ::1 ::1 1 2\r\n'), new Uint8Array(0)]
    for (let i = 0; i < 20_000; i++) {
      const seed = seeds[random(seeds.length)]!
      const bytes = new Uint8Array(seed.length + random(64))
      bytes.set(seed)
      for (let j = seed.length; j < bytes.length; j++) bytes[j] = random(256)
      // Flip a few bytes, biased toward the fixed part where the decisions are.
      for (let k = random(4); k > 0 && bytes.length > 0; k--) {
        bytes[random(Math.min(bytes.length, 40))] = random(256)
      }
      const length = random(bytes.length + 1)
      for (const accept of ['v1', 'v2', 'any'] as const)
        checkResult(bytes.subarray(0, length), accept)
    }
  })

  test('v1 lines over the maximum length are never incomplete', () => {
    const random = generator(42)
    for (let i = 0; i < 2_000; i++) {
      const bytes = new Uint8Array(V1_MAX_LENGTH + random(50))
      bytes.set(encoder.encode('PROXY '))
      for (let j = 6; j < bytes.length; j++) bytes[j] = 0x20 + random(0x5f)
      assert.equal(parseProxyHeader(bytes, 'v1').status, 'invalid')
    }
  })
})

describe('previewBytes', () => {
  test('escapes control bytes, quotes and backslashes, and cuts long input', () => {
    assert.equal(
      previewBytes(Uint8Array.of(0x00, 0x41, 0x22, 0x0d, 0x0a, 0xff)),
      '"\\x00A\\"\\r\\n\\xff"',
    )
    assert.equal(previewBytes(new Uint8Array(40).fill(0x61)), `"${'a'.repeat(16)}"...`)
  })
})
