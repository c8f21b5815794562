import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { formatAddress, parseHostname, parseHostPort, parsePort } from './host-port.ts'
import { orThrow } from './result.ts'

describe('parsePort', () => {
  test('takes integers from 1 (or 0 with allowZero) to 65535', () => {
    assert.deepEqual(parsePort(1), { ok: true, value: 1 })
    assert.deepEqual(parsePort(65535), { ok: true, value: 65535 })
    assert.deepEqual(parsePort(0, { allowZero: true }), { ok: true, value: 0 })
  })

  test('a number out of range is a range failure; anything else a type failure', () => {
    assert.deepEqual(parsePort(0), {
      ok: false,
      kind: 'range',
      reason: 'expected an integer from 1 to 65535',
    })
    assert.deepEqual(parsePort(65536), {
      ok: false,
      kind: 'range',
      reason: 'expected an integer from 1 to 65535',
    })
    for (const value of [1.5, '80', undefined, Number.NaN]) {
      const result = parsePort(value)
      assert.equal(result.ok || result.kind, 'type', String(value))
    }
  })
})

describe('parseHostname', () => {
  test('takes names and IP literals, IPv6 with a zone', () => {
    for (const name of ['localhost', 'db.internal', '10.0.0.1', '::1', 'fe80::1%eth0']) {
      assert.deepEqual(parseHostname(name), { ok: true, value: name })
    }
  })

  test('refuses URLs, brackets, spaces and colons that are not IPv6', () => {
    for (const name of ['', 'http://x', '[::1]', 'a b', 'x@y', 'a:b', 'x'.repeat(254), 42]) {
      assert.equal(parseHostname(name).ok, false, String(name))
    }
  })
})

describe('parseHostPort', () => {
  test('reads host:port, [v6]:port and, with a default host, a bare port', () => {
    assert.deepEqual(parseHostPort('localhost:80'), {
      ok: true,
      value: { hostname: 'localhost', port: 80 },
    })
    assert.deepEqual(parseHostPort('[fe80::1%eth0]:53'), {
      ok: true,
      value: { hostname: 'fe80::1%eth0', port: 53 },
    })
    assert.deepEqual(parseHostPort('7000', { defaultHostname: '127.0.0.1' }), {
      ok: true,
      value: { hostname: '127.0.0.1', port: 7000 },
    })
    assert.deepEqual(parseHostPort('[::]:0', { allowZero: true }), {
      ok: true,
      value: { hostname: '::', port: 0 },
    })
  })

  test('says what is wrong', () => {
    const cases: Array<[string, string, 'type' | 'range']> = [
      ['localhost', 'port is missing; write "host:port"', 'type'],
      ['[::1]', 'port is missing; write "[v6addr]:port"', 'type'],
      ['[::1:80', 'the IPv6 address has no closing "]"', 'type'],
      ['[db]:80', '"db" in brackets is not an IPv6 address', 'type'],
      ['::1:80', 'an IPv6 address needs brackets, as in "[::1]:80"', 'type'],
      ['localhost:http', 'port "http" is not a number', 'type'],
      ['localhost:', 'port "" is not a number', 'type'],
      [':80', 'host name is missing', 'type'],
      ['127.0.0.1:0', 'port 0 is not from 1 to 65535', 'range'],
      ['127.0.0.1:99999', 'port 99999 is not from 1 to 65535', 'range'],
    ]
    for (const [text, reason, kind] of cases) {
      assert.deepEqual(parseHostPort(text), { ok: false, kind, reason }, text)
    }
  })

  test('orThrow throws the error the failure names, worded by the caller', () => {
    const message = (reason: string) => `Cannot parse address: ${reason}`
    assert.throws(() => orThrow(parseHostPort('a b:80'), message), {
      name: 'TypeError',
      message: /^Cannot parse address: host name "a b": expected a host name/,
    })
    assert.throws(() => orThrow(parseHostPort('a:0'), message), RangeError)
    assert.deepEqual(orThrow(parseHostPort('a:1'), message), { hostname: 'a', port: 1 })
  })
})

test('formatAddress brackets IPv6 and only IPv6', () => {
  assert.equal(formatAddress('::1', 53), '[::1]:53')
  assert.equal(formatAddress('fe80::1%eth0', 53), '[fe80::1%eth0]:53')
  assert.equal(formatAddress('10.0.0.1', 53), '10.0.0.1:53')
  assert.equal(formatAddress('db.internal', 5432), 'db.internal:5432')
})
