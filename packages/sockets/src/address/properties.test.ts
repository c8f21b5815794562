/**
 * Properties of the address module: what it formats it parses back to the
 * same value, it agrees with node:net on which text is an IP literal, and
 * no input makes a parser throw.
 */
import assert from 'node:assert/strict'
import { isIP } from 'node:net'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { formatAddress, parseHostPort } from './host-port.ts'
import { formatIp, type IpAddress, parseIp } from './ip.ts'

/** Any IPv4 address, or any IPv6 address (zeros likely, so `::` runs of every shape occur) with or without a zone. */
const ipAddress: fc.Arbitrary<IpAddress> = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((bytes): IpAddress => ({ family: 4, bytes })),
  fc
    .tuple(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), {
        minLength: 16,
        maxLength: 16,
      }),
      fc.option(fc.stringMatching(/^[0-9A-Za-z.:-]{1,15}$/), { nil: undefined }),
    )
    .map(([bytes, zone]): IpAddress => {
      const address = { family: 6 as const, bytes: Uint8Array.from(bytes) }
      return zone === undefined ? address : { ...address, zone }
    }),
)

describe('IP literals', () => {
  test('parseIp(formatIp(x)) = x', () => {
    fc.assert(
      fc.property(ipAddress, (address) => {
        assert.deepEqual(parseIp(formatIp(address)), address)
      }),
      { numRuns: 2000 },
    )
  })

  test('IPv6 text agrees with node:net', () => {
    fc.assert(
      fc.property(ipAddress, (address) => {
        assert.equal(isIP(formatIp(address)), address.family)
      }),
      { numRuns: 2000 },
    )
  })

  test('parseIp takes every literal node:net takes, and no other without a zone', () => {
    const unit = fc.constantFrom(...'0123456789abcdefABCDEF:.%_x ')
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 45 }), (text) => {
        const family = parseIp(text)?.family ?? 0
        if (isIP(text) !== 0 || !text.includes('%')) assert.equal(family, isIP(text), text)
      }),
      { numRuns: 20_000 },
    )
  })
})

const hostname = fc.oneof(ipAddress.map(formatIp), fc.domain(), fc.constantFrom('localhost', 'db'))

describe('host and port', () => {
  test('parseHostPort(formatAddress(h, p)) = { h, p }', () => {
    fc.assert(
      fc.property(hostname, fc.integer({ min: 1, max: 65535 }), (host, port) => {
        assert.deepEqual(parseHostPort(formatAddress(host, port)), {
          ok: true,
          value: { hostname: host, port },
        })
      }),
      { numRuns: 2000 },
    )
  })

  test('parseHostPort never throws, and a failure always has a reason', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'01239:.[]%ab /') }), (text) => {
        const result = parseHostPort(text, { defaultHostname: '127.0.0.1', allowZero: true })
        if (!result.ok) assert.ok(result.reason.length > 0)
        else
          assert.equal(
            parseHostPort(formatAddress(result.value.hostname, result.value.port), {
              allowZero: true,
            }).ok,
            true,
          )
      }),
      { numRuns: 5000 },
    )
  })
})
