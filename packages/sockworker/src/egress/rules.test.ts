import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { formatIp } from '@sockworker/sockets/address'
import { parseRule, type Rule } from './rules.ts'

const parse = (text: string): Rule => parseRule(text, 'allow[0]')

function cidrOf(text: string): string {
  const { target } = parse(text)
  assert.equal(target.kind, 'cidr', text)
  return target.kind === 'cidr' ? `${formatIp(target.cidr)}/${target.cidr.prefix}` : ''
}

function problem(text: unknown): string {
  try {
    parseRule(text, 'deny[3]')
  } catch (error) {
    assert.ok(error instanceof TypeError)
    return error.message
  }
  assert.fail(`${String(text)} was accepted`)
}

describe('rules: valid forms', () => {
  test('address classes, in any case, with and without ports', () => {
    assert.deepEqual(parse('public'), {
      text: 'public',
      target: { kind: 'class', class: 'public' },
    })
    assert.deepEqual(parse(' Link-Local '), {
      text: 'Link-Local',
      target: { kind: 'class', class: 'link-local' },
    })
    assert.deepEqual(parse('public:443').ports, { low: 443, high: 443 })
    assert.deepEqual(parse('any:5432-5439').ports, { low: 5432, high: 5439 })
  })

  test('IPs and CIDRs, IPv4 and IPv6, with brackets and ports', () => {
    assert.equal(cidrOf('192.168.1.5'), '192.168.1.5/32')
    assert.equal(cidrOf('10.0.0.0/8'), '10.0.0.0/8')
    assert.equal(cidrOf('2001:db8::/32'), '2001:db8::/32')
    assert.equal(cidrOf('[::1]'), '::1/128')
    assert.equal(cidrOf('[2001:db8::/32]:443'), '2001:db8::/32')
    assert.equal(cidrOf('[2001:db8::]/32:443'), '2001:db8::/32')
    assert.deepEqual(parse('[::1]:53').ports, { low: 53, high: 53 })
    assert.deepEqual(parse('10.0.0.0/8:5432-5439').ports, { low: 5432, high: 5439 })
    assert.equal(parse('0.0.0.0/0').target.kind, 'cidr')
  })

  test('IPv4-mapped IPv6 rules become IPv4 rules', () => {
    assert.equal(cidrOf('::ffff:10.0.0.1'), '10.0.0.1/32')
    assert.equal(cidrOf('::ffff:10.0.0.0/104'), '10.0.0.0/8')
  })

  test('host names and wildcards are normalized', () => {
    assert.deepEqual(parse('DB.Internal.:5432'), {
      text: 'DB.Internal.:5432',
      target: { kind: 'name', name: 'db.internal' },
      ports: { low: 5432, high: 5432 },
    })
    assert.deepEqual(parse('*.Example.com').target, { kind: 'wildcard', suffix: 'example.com' })
    assert.deepEqual(parse('localhost').target, { kind: 'name', name: 'localhost' })
    assert.deepEqual(parse('_srv.my-db_1.internal').target, {
      kind: 'name',
      name: '_srv.my-db_1.internal',
    })
  })
})

describe('rules: invalid ones name the rule, its place and what is allowed', () => {
  test('the whole message for one case', () => {
    assert.equal(
      problem('10.0.0.0/33'),
      'Invalid egress rule "10.0.0.0/33" in deny[3]: the prefix length "33" is not from 0 to 32. ' +
        'A rule is an address class (public, private, loopback, link-local or any), an IP or CIDR ' +
        '(192.168.1.5, 10.0.0.0/8, [::1], 2001:db8::/32), or a host name (db.example.com, ' +
        '*.example.com), optionally followed by :port or :low-high (public:443, [::1]:53, ' +
        'db.internal:5432-5439).',
    )
  })

  const cases: Array<[unknown, string]> = [
    [42, 'Invalid egress rule 42 in deny[3]: expected a string'],
    ['  ', 'the rule is empty'],
    [
      '10.1.2.3/8',
      'host bits are set; write "10.0.0.0/8" for the block or "10.1.2.3" for the one address',
    ],
    ['2001:db8::1/32', 'write "2001:db8::/32" for the block'],
    ['::/129', 'the prefix length "129" is not from 0 to 128'],
    ['10.0.0.0/x', 'the prefix length "x" is not from 0 to 32'],
    ['2001:db8::/32:443', 'use brackets, as in "[2001:db8::/32]:443"'],
    ['db.internal:0', 'port 0 is not from 1 to 65535'],
    ['db.internal:65536', 'port 65536 is not from 1 to 65535'],
    ['db.internal:http', 'the port "http" is not a number or a range such as 5432-5439'],
    ['db.internal:', 'the port "" is not a number'],
    ['public:9-3', 'the port range 9-3 runs backwards; write 3-9'],
    ['[::1', 'the "[" has no closing "]"'],
    ['[::1]53', 'unexpected "53" after "]"'],
    ['[db.internal]:53', '"db.internal" is not a valid IPv6 address'],
    ['10.0.0', '"10.0.0" is not a valid IP address or host name'],
    ['300.1.2.3', '"300.1.2.3" is not a valid IP address or host name'],
    ['*', 'write "any" for every address'],
    ['db.*.com', 'a wildcard is written "*.example.com"'],
    ['a..b', '"a..b" is not a valid host name'],
    ['-db.internal', '"-db.internal" is not a valid host name'],
    ['bücher.example', 'write an internationalized name in punycode'],
    ['http://db.internal', 'drop the "http://"; a rule is a host, not a URL'],
  ]
  for (const [rule, expected] of cases) {
    test(`${JSON.stringify(rule)}`, () => {
      const message = problem(rule)
      assert.ok(message.includes(expected), message)
      if (typeof rule === 'string')
        assert.ok(message.startsWith(`Invalid egress rule "${rule}" in deny[3]: `))
    })
  }
})
