import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { formatIp } from '@sockworker/sockets/address'
import { cidr, inCidr, network, parseLiteral } from './cidr.ts'

const bytes = (text: string): number[] => [...(parseLiteral(text)?.bytes ?? [])]

describe('parseLiteral', () => {
  test('IPv4 and IPv6 literals, with brackets and zones', () => {
    assert.deepEqual(parseLiteral('192.168.1.5'), {
      family: 4,
      bytes: Uint8Array.of(192, 168, 1, 5),
    })
    assert.equal(parseLiteral('[::1]')?.family, 6)
    assert.deepEqual(bytes('::1'), [...new Array(15).fill(0), 1])
    assert.deepEqual(bytes('fe80::1%eth0').slice(0, 2), [0xfe, 0x80])
    assert.deepEqual(
      bytes('2001:db8::8:800:200c:417a').slice(8),
      [0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a],
    )
  })

  test('IPv4-mapped IPv6, in dotted and hex form, comes out as IPv4', () => {
    assert.deepEqual(parseLiteral('::ffff:10.0.0.1'), {
      family: 4,
      bytes: Uint8Array.of(10, 0, 0, 1),
    })
    assert.deepEqual(parseLiteral('::FFFF:a00:1'), { family: 4, bytes: Uint8Array.of(10, 0, 0, 1) })
    assert.equal(parseLiteral('::ffff:10.0.0.1', { unmap: false })?.family, 6)
  })

  test('host names and non-canonical IPv4 forms are not literals', () => {
    for (const text of [
      'localhost',
      '127.1',
      '0x7f.0.0.1',
      '2130706433',
      '',
      '[10.0.0.1',
      '1.2.3.4%eth0',
    ]) {
      assert.equal(parseLiteral(text), undefined, text)
    }
  })
})

describe('CIDR', () => {
  test('prefixes that end inside a byte', () => {
    const block = cidr('172.16.0.0/12')
    assert.equal(inCidr(parseLiteral('172.31.255.255')!, block), true)
    assert.equal(inCidr(parseLiteral('172.32.0.0')!, block), false)
    assert.equal(inCidr(parseLiteral('172.15.255.255')!, block), false)
    assert.equal(inCidr(parseLiteral('fe80::1')!, cidr('fe80::/10')), true)
    assert.equal(inCidr(parseLiteral('fec0::1')!, cidr('fe80::/10')), false)
  })

  test('a /0 matches its own family only', () => {
    assert.equal(inCidr(parseLiteral('8.8.8.8')!, cidr('0.0.0.0/0')), true)
    assert.equal(inCidr(parseLiteral('2606:4700::1')!, cidr('0.0.0.0/0')), false)
    assert.equal(inCidr(parseLiteral('8.8.8.8')!, cidr('::/0')), false)
  })

  test('network clears host bits and formatIp compresses the longest zero run', () => {
    assert.equal(formatIp(network(parseLiteral('10.1.2.3')!, 8)), '10.0.0.0')
    assert.equal(formatIp(network(parseLiteral('2001:db8:1:2::5')!, 32)), '2001:db8::')
    assert.equal(formatIp(parseLiteral('1:0:0:2:0:0:0:3')!), '1:0:0:2::3')
    assert.equal(formatIp(parseLiteral('1:2:3:4:5:6:0:8')!), '1:2:3:4:5:6:0:8')
    assert.equal(formatIp(parseLiteral('::')!), '::')
  })
})
