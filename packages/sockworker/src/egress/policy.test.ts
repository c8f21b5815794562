import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { EgressPolicy, type EgressVerdict } from './policy.ts'

/** A resolver from a fixed table that records what it was asked. */
function table(answers: Record<string, string[]>) {
  const asked: string[] = []
  const resolve = async (host: string): Promise<string[]> => {
    asked.push(host)
    return answers[host] ?? []
  }
  return { asked, options: { resolve } }
}

const never = {
  resolve: async (host: string): Promise<string[]> => assert.fail(`resolved ${host}`),
}

const policy = (allow: string[], deny: string[] = []) => EgressPolicy.parse({ allow, deny })

function reasonOf(verdict: EgressVerdict): string {
  assert.equal(verdict.allowed, false, JSON.stringify(verdict))
  return verdict.allowed ? '' : verdict.reason
}

function addressOf(verdict: EgressVerdict): string {
  assert.equal(verdict.allowed, true, JSON.stringify(verdict))
  return verdict.allowed ? verdict.address : ''
}

describe('EgressPolicy: IP literals', () => {
  test('"public" allows public addresses and refuses every other class', () => {
    const publicOnly = policy(['public'])
    assert.equal(addressOf(publicOnly.checkAddress('8.8.8.8', 53)), '8.8.8.8')
    assert.equal(addressOf(publicOnly.checkAddress('[2606:4700::1]', 443)), '2606:4700::1')
    for (const [ip, kind] of [
      ['10.1.2.3', 'private'],
      ['127.0.0.1', 'loopback'],
      ['169.254.169.254', 'link-local'],
      ['0.0.0.0', 'special-purpose'],
      ['::', 'special-purpose'],
    ]) {
      assert.equal(
        reasonOf(publicOnly.checkAddress(ip ?? '', 80)),
        `Egress to "${ip?.includes(':') ? `[${ip}]` : ip}:80" denied: ${ip} is a ${kind} address, and the policy allows only public`,
      )
    }
  })

  test('each class rule allows its own class only', () => {
    const samples = {
      private: ['10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fd00::1'],
      loopback: ['127.0.0.1', '::1'],
      'link-local': ['169.254.1.1', 'fe80::1'],
      public: ['1.1.1.1', '2606:4700::1'],
    }
    for (const kind of Object.keys(samples)) {
      const only = policy([kind])
      for (const [other, otherIps] of Object.entries(samples)) {
        for (const ip of otherIps) {
          assert.equal(only.checkAddress(ip, 1).allowed, kind === other, `${kind} vs ${ip}`)
        }
      }
    }
  })

  test('"any" allows everything, special ranges included', () => {
    const any = EgressPolicy.allowAll()
    for (const ip of ['0.0.0.0', '255.255.255.255', '::', '10.0.0.1', '8.8.8.8']) {
      assert.equal(any.checkAddress(ip, 9).allowed, true, ip)
    }
  })

  test('CIDR rules, IPv4 and IPv6', () => {
    const cidrs = policy(['10.0.0.0/8', '2001:db8:1::/48', '192.168.1.5'])
    assert.equal(cidrs.checkAddress('10.200.0.1', 1).allowed, true)
    assert.equal(cidrs.checkAddress('11.0.0.1', 1).allowed, false)
    assert.equal(cidrs.checkAddress('2001:db8:1:ffff::1', 1).allowed, true)
    assert.equal(cidrs.checkAddress('2001:db8:2::1', 1).allowed, false)
    assert.equal(cidrs.checkAddress('192.168.1.5', 1).allowed, true)
    assert.equal(cidrs.checkAddress('192.168.1.6', 1).allowed, false)
  })

  test('IPv4-mapped IPv6 is judged as its IPv4 address, both ways', () => {
    const publicOnly = policy(['public'], ['8.8.8.8'])
    assert.match(reasonOf(publicOnly.checkAddress('::ffff:127.0.0.1', 80)), /a loopback address/)
    assert.match(reasonOf(publicOnly.checkAddress('::ffff:a9fe:a9fe', 80)), /a link-local address/)
    assert.match(reasonOf(publicOnly.checkAddress('::ffff:8.8.8.8', 53)), /deny rule "8.8.8.8"/)
    assert.equal(addressOf(publicOnly.checkAddress('::ffff:1.1.1.1', 53)), '::ffff:1.1.1.1')
    assert.equal(policy(['::ffff:10.0.0.0/104']).checkAddress('10.9.9.9', 1).allowed, true)
  })

  test('ports and port ranges', () => {
    const ports = policy(['public:443', '10.0.0.0/8:5432-5439'])
    assert.equal(ports.checkAddress('1.1.1.1', 443).allowed, true)
    assert.equal(
      reasonOf(ports.checkAddress('1.1.1.1', 80)),
      'Egress to "1.1.1.1:80" denied: 1.1.1.1 is a public address, and the policy allows only public:443, 10.0.0.0/8:5432-5439',
    )
    assert.equal(ports.checkAddress('10.0.0.1', 5431).allowed, false)
    assert.equal(ports.checkAddress('10.0.0.1', 5432).allowed, true)
    assert.equal(ports.checkAddress('10.0.0.1', 5439).allowed, true)
    assert.equal(ports.checkAddress('10.0.0.1', 5440).allowed, false)
    assert.equal(policy(['any'], ['[::1]:53']).checkAddress('::1', 53).allowed, false)
    assert.equal(policy(['any'], ['[::1]:53']).checkAddress('::1', 54).allowed, true)
  })

  test('deny wins over allow', () => {
    const metadata = policy(['any'], ['169.254.169.254'])
    assert.equal(
      reasonOf(metadata.checkAddress('169.254.169.254', 80)),
      'Egress to "169.254.169.254:80" denied: 169.254.169.254 is a link-local address that matches deny rule "169.254.169.254"',
    )
    assert.equal(metadata.checkAddress('169.254.169.253', 80).allowed, true)
    assert.equal(policy(['10.0.0.0/8'], ['private']).checkAddress('10.0.0.1', 1).allowed, false)
  })

  test('name rules never match IP literals', () => {
    const byName = policy(['localhost'])
    assert.match(reasonOf(byName.checkAddress('127.0.0.1', 80)), /allows only localhost/)
    assert.equal(addressOf(byName.checkAddress('127.0.0.1', 80, 'localhost')), '127.0.0.1')
    assert.equal(policy([], ['*.internal']).checkAddress('10.0.0.1', 1).allowed, false)
  })

  test('an empty allow list allows nothing, and says so', () => {
    assert.equal(
      reasonOf(policy([]).checkAddress('8.8.8.8', 53)),
      'Egress to "8.8.8.8:53" denied: 8.8.8.8 is a public address, and the policy allows no egress',
    )
  })

  test('caller mistakes throw at once', async () => {
    const any = EgressPolicy.allowAll()
    assert.throws(() => any.checkAddress('db.internal', 80), {
      name: 'TypeError',
      message: /Invalid IP address "db.internal": expected an IPv4 or IPv6 literal; use check\(\)/,
    })
    assert.throws(() => any.checkAddress('1.1.1.1', 70000), { name: 'RangeError' })
    assert.throws(() => any.lookupFor(-1), { name: 'RangeError' })
    await assert.rejects(any.check('', 80), { name: 'TypeError' })
  })
})

describe('EgressPolicy: host names', () => {
  test('a name that resolves to a private address is denied under "public"', async () => {
    const dns = table({ 'db.internal': ['10.1.2.3'] })
    const verdict = await policy(['public']).check('db.internal', 5432, dns.options)
    assert.equal(
      reasonOf(verdict),
      'Egress to "db.internal:5432" denied: it resolves to 10.1.2.3, a private address, and the policy allows only public',
    )
  })

  test('an explicit name allow trusts its answers, but not denied ones', async () => {
    const dns = table({ 'db.internal': ['10.1.2.3'], 'meta.internal': ['169.254.169.254'] })
    const trusting = policy(['public', 'db.internal:5432', 'meta.internal'], ['link-local'])
    assert.equal(addressOf(await trusting.check('db.internal', 5432, dns.options)), '10.1.2.3')
    assert.equal((await trusting.check('db.internal', 5433, dns.options)).allowed, false)
    assert.equal(
      reasonOf(await trusting.check('meta.internal', 80, dns.options)),
      'Egress to "meta.internal:80" denied: it resolves to 169.254.169.254, a link-local address that matches deny rule "link-local"',
    )
  })

  test('wildcards match subdomains at any depth, not the apex', async () => {
    const answers = ['10.0.0.7']
    const dns = table({
      'a.example.com': answers,
      'A.B.Example.COM.': answers,
      'example.com': answers,
      'badexample.com': answers,
    })
    const wildcard = policy(['*.example.com'])
    assert.equal((await wildcard.check('a.example.com', 1, dns.options)).allowed, true)
    assert.equal((await wildcard.check('A.B.Example.COM.', 1, dns.options)).allowed, true)
    assert.equal((await wildcard.check('example.com', 1, dns.options)).allowed, false)
    assert.equal((await wildcard.check('badexample.com', 1, dns.options)).allowed, false)
  })

  test('a denied name is refused before any lookup', async () => {
    const verdict = await policy(['any'], ['*.internal:22']).check('ssh.internal', 22, never)
    assert.equal(
      reasonOf(verdict),
      'Egress to "ssh.internal:22" denied: the name matches deny rule "*.internal:22"',
    )
  })

  test('pinning: the first passing answer is returned, in resolver order', async () => {
    const dns = table({
      'mixed.example': ['10.0.0.5', '169.254.169.254', '93.184.216.34', '1.1.1.1'],
    })
    const verdict = await policy(['public']).check('mixed.example', 443, dns.options)
    assert.deepEqual(verdict, { allowed: true, address: '93.184.216.34' })
  })

  test('when every answer fails, each is listed with its class', async () => {
    const dns = table({ 'lan.example': ['10.0.0.5', 'fd00::5', '169.254.169.254'] })
    const verdict = await policy(['public'], ['169.254.169.254']).check(
      'lan.example',
      80,
      dns.options,
    )
    assert.equal(
      reasonOf(verdict),
      'Egress to "lan.example:80" denied: it resolves to 10.0.0.5 (a private address), fd00::5 ' +
        '(a private address) and 169.254.169.254 (a link-local address that matches deny rule ' +
        '"169.254.169.254"), and the policy allows only public',
    )
    const many = table({
      'many.example': ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'],
    })
    assert.match(
      reasonOf(await policy(['public']).check('many.example', 80, many.options)),
      /and 1 more, and/,
    )
  })

  test('the resolver gets the name as written; rules compare it normalized', async () => {
    const dns = table({ 'DB.Internal.': ['10.1.2.3'] })
    const verdict = await policy(['db.internal']).check('DB.Internal.', 5432, dns.options)
    assert.equal(addressOf(verdict), '10.1.2.3')
    assert.deepEqual(dns.asked, ['DB.Internal.'])
  })

  test('an IP literal is not resolved, bracketed or not', async () => {
    const publicOnly = policy(['public'])
    assert.equal(addressOf(await publicOnly.check('[2606:4700::1]', 443, never)), '2606:4700::1')
    assert.equal((await publicOnly.check('10.0.0.1', 443, never)).allowed, false)
  })

  test('lookup failures reject: the resolver error, or ENOTFOUND for no answers', async () => {
    const failing = {
      resolve: async () => {
        throw Object.assign(new Error('getaddrinfo EAI_AGAIN x.example'), { code: 'EAI_AGAIN' })
      },
    }
    await assert.rejects(policy(['any']).check('x.example', 80, failing), { code: 'EAI_AGAIN' })
    await assert.rejects(policy(['any']).check('x.example', 80, table({}).options), {
      code: 'ENOTFOUND',
      message: 'getaddrinfo ENOTFOUND x.example',
    })
  })

  test('a resolver that answers with something other than IPs is a bug, reported as such', async () => {
    const dns = table({ 'x.example': ['not-an-ip'] })
    await assert.rejects(policy(['any']).check('x.example', 80, dns.options), {
      name: 'TypeError',
      message:
        'Invalid IP address "not-an-ip" as an answer for "x.example": expected an IPv4 or IPv6 literal',
    })
  })

  test('the system resolver: localhost is loopback', async () => {
    const loopbackOnly = policy(['loopback'])
    const address = addressOf(await loopbackOnly.check('localhost', 80))
    assert.match(address, /^(?:127\.|::1$)/)
    assert.equal((await policy(['public']).check('localhost', 80)).allowed, false)
  })
})

describe('EgressPolicy: parse and describe', () => {
  test('describe lists the rules as written', () => {
    assert.equal(
      policy(['public'], ['169.254.169.254']).describe(),
      'allow public; deny 169.254.169.254',
    )
    assert.equal(
      policy(['public:443', 'db.internal:5432']).describe(),
      'allow public:443, db.internal:5432',
    )
    assert.equal(policy([], ['any']).describe(), 'allow nothing; deny any')
    assert.equal(EgressPolicy.allowAll().describe(), 'allow any')
  })

  test('a malformed policy names the key', () => {
    assert.throws(() => EgressPolicy.parse({ allow: 'public' } as never), {
      name: 'TypeError',
      message: 'Invalid egress policy: "allow" must be an array of rule strings, got "public"',
    })
    assert.throws(() => EgressPolicy.parse({ allow: [] } as never), {
      message: 'Invalid egress policy: "deny" must be an array of rule strings, got undefined',
    })
    assert.throws(
      () => EgressPolicy.parse({ allow: ['public'], deny: ['ok.example', 'bad..name'] }),
      {
        name: 'TypeError',
        message: /^Invalid egress rule "bad\.\.name" in deny\[1\]: /,
      },
    )
  })
})
