import assert from 'node:assert/strict'
import { isIPv6 } from 'node:net'
import { describe, test } from 'node:test'
import {
  formatIPv4,
  formatIPv6,
  formatIp,
  isMapped,
  parseIPv4,
  parseIPv6,
  parseIp,
  unmap,
} from './ip.ts'

describe('parseIPv4', () => {
  test('accepts dotted quads from 0.0.0.0 to 255.255.255.255', () => {
    assert.deepEqual(parseIPv4('0.0.0.0'), new Uint8Array(4))
    assert.deepEqual(parseIPv4('255.255.255.255'), Uint8Array.of(255, 255, 255, 255))
    assert.deepEqual(parseIPv4('192.168.0.11'), Uint8Array.of(192, 168, 0, 11))
  })

  test('refuses leading zeros, out-of-range octets and other shapes', () => {
    for (const text of [
      '010.0.0.1',
      '1.2.3.04',
      '256.0.0.1',
      '1.2.3',
      '1.2.3.4.5',
      '1..3.4',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1.2.3.-4',
      '1.2.3.4e0',
      '0x1.2.3.4',
      '',
    ]) {
      assert.equal(parseIPv4(text), undefined, text)
    }
  })
})

describe('parseIPv6', () => {
  test('accepts full, compressed and mixed forms', () => {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
      ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
      ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
      // Two runs of three zeros: the first one is compressed (RFC 5952 4.2.3).
      ['fe80:0:0:0:1::', 'fe80::1:0:0:0'],
    ]
    for (const [text, canonical] of cases) {
      const address = parseIPv6(text)
      assert.ok(address, text)
      assert.equal(formatIPv6(address.bytes), canonical, text)
    }
  })

  test('refuses malformed text', () => {
    for (const text of [
      '',
      ':',
      ':::',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7:8::',
      '1::2::3',
      ':1::2',
      '1::2:',
      '12345::1',
      'g::1',
      'fe80::1%',
      'fe80::1%eth 0',
      'fe80::1%eth0%1',
      '::1.2.3',
      '::1.2.3.4:1',
      '1.2.3.4::',
      '::ffff:01.2.3.4',
      '[::1]',
      '1:2:3:4:5:6:1.2.3.4:8',
    ]) {
      assert.equal(parseIPv6(text), undefined, text)
    }
  })

  test('agrees with node:net on random addresses (formatting round-trips)', () => {
    let seed = 7
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32
    for (let i = 0; i < 2000; i++) {
      // Mostly zeros, so that `::` runs of every length and position occur.
      const bytes = Uint8Array.from({ length: 16 }, () =>
        random() < 0.6 ? 0 : Math.floor(random() * 256),
      )
      const text = formatIPv6(bytes)
      assert.ok(isIPv6(text), text)
      assert.deepEqual(parseIPv6(text)?.bytes, bytes, text)
    }
  })
})

describe('zones, mapped addresses and formatIp', () => {
  test('an IPv6 zone is kept and formatted back', () => {
    assert.deepEqual(parseIp('fe80::1%eth0'), {
      family: 6,
      bytes: Uint8Array.of(0xfe, 0x80, ...new Array(13).fill(0), 1),
      zone: 'eth0',
    })
    assert.equal(formatIp(parseIp('FE80::0001%eth0')!), 'fe80::1%eth0')
  })

  test('parseIp tells IPv4 from IPv6 and refuses host names', () => {
    assert.equal(parseIp('10.0.0.1')?.family, 4)
    assert.equal(parseIp('::1')?.family, 6)
    for (const text of ['localhost', '127.1', '[::1]', '10.0.0.1%eth0', '']) {
      assert.equal(parseIp(text), undefined, text)
    }
  })

  test('unmap turns ::ffff:a.b.c.d into IPv4 and leaves other addresses alone', () => {
    const mapped = parseIp('::ffff:10.0.0.1')!
    assert.ok(isMapped(mapped.bytes))
    assert.deepEqual(unmap(mapped), { family: 4, bytes: Uint8Array.of(10, 0, 0, 1) })
    const plain = parseIp('2001:db8::1')!
    assert.equal(unmap(plain), plain)
  })

  test('formatIPv4 reads 4 bytes at an offset', () => {
    assert.equal(formatIPv4(Uint8Array.of(9, 127, 0, 0, 1), 1), '127.0.0.1')
  })
})
