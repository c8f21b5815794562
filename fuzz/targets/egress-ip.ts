/**
 * The egress policy's IP parsing (`parseLiteral`, `cidr`): an address or
 * `undefined`, a CIDR or the TypeError `cidr` documents; `formatIp` of a
 * parsed address parses back to the same bytes, and an address is inside
 * its own network.
 */
import { formatIp } from '../../packages/sockets/src/address.ts'
import { cidr, inCidr, network, parseLiteral } from '../../packages/sockworker/src/egress/cidr.ts'
import { bytes, checkEqual, checkThat, expectOnly, type FuzzTarget } from '../engine/target.ts'

const decoder = new TextDecoder()
const target: FuzzTarget = {
  seeds: [
    '127.0.0.1',
    '::1',
    '[2001:db8::1]',
    '::ffff:10.0.0.1',
    'fe80::1%eth0',
    '10.0.0.0/8',
    'fc00::/7',
    '1:2:3:4:5:6:7:8',
  ].map(bytes),
  dictionary: ['::', ':', '.', '/', '%', '[', ']', 'ffff', '255', '/33', '/129'].map(bytes),
  maxLength: 128,
  check(input) {
    const text = decoder.decode(input)
    const address = parseLiteral(text)
    if (address !== undefined) {
      checkThat(address.bytes.length === (address.family === 4 ? 4 : 16), 'address length')
      checkEqual(parseLiteral(formatIp(address))?.bytes, address.bytes, 'formatIp round trip')
      const prefix = (input[0] ?? 0) % (address.family === 4 ? 33 : 129)
      checkThat(inCidr(address, network(address, prefix)), 'an address is in its own network')
    }
    expectOnly(() => cidr(text), [TypeError], /^Invalid built-in CIDR/)
  },
}
export default target
