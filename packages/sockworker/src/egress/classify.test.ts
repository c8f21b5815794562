import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { classify } from './classify.ts'

function expectAll(kind: string, addresses: string[]): void {
  for (const address of addresses) assert.equal(classify(address), kind, address)
}

describe('classify', () => {
  test('private: RFC 1918, CGNAT and IPv6 unique local, at their edges', () => {
    expectAll('private', [
      '10.0.0.0',
      '10.255.255.255',
      '172.16.0.0',
      '172.31.255.255',
      '192.168.0.1',
      '100.64.0.0',
      '100.127.255.255',
      'fc00::1',
      'fd12:3456::1',
    ])
  })

  test('loopback and link-local', () => {
    expectAll('loopback', ['127.0.0.1', '127.255.255.254', '::1', '[::1]'])
    expectAll('link-local', [
      '169.254.169.254',
      '169.254.0.1',
      'fe80::1',
      'febf::1',
      'fe80::1%eth0',
    ])
  })

  test('special: unspecified, multicast, reserved, broadcast and documentation', () => {
    expectAll('special', [
      '0.0.0.0',
      '0.1.2.3',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
      '192.0.2.1',
      '198.51.100.7',
      '203.0.113.9',
      '::',
      'ff02::1',
      '2001:db8::1',
    ])
  })

  test('public: whatever is left, including the neighbours of private ranges', () => {
    expectAll('public', [
      '8.8.8.8',
      '1.1.1.1',
      '172.15.255.255',
      '172.32.0.0',
      '100.63.255.255',
      '100.128.0.0',
      '169.253.255.255',
      '192.0.3.1',
      '223.255.255.255',
      '2606:4700:4700::1111',
      'fec0::1',
      '2001:db9::1',
    ])
  })

  test('IPv4-mapped IPv6 takes the class of the IPv4 address it carries', () => {
    assert.equal(classify('::ffff:127.0.0.1'), 'loopback')
    assert.equal(classify('::ffff:7f00:1'), 'loopback')
    assert.equal(classify('::ffff:10.1.2.3'), 'private')
    assert.equal(classify('::ffff:169.254.169.254'), 'link-local')
    assert.equal(classify('::ffff:0.0.0.0'), 'special')
    assert.equal(classify('::ffff:8.8.8.8'), 'public')
  })

  test('a host name is a caller mistake', () => {
    assert.throws(() => classify('localhost'), {
      name: 'TypeError',
      message: 'Cannot classify "localhost": expected an IPv4 or IPv6 address',
    })
  })
})
