/**
 * PROXY protocol v1 (`parseProxyHeader` with 'v1'): never throws, never
 * reads past 107 bytes, and a header it accepts encodes back to a line that
 * parses to the same header.
 */
import {
  encodeProxyHeaderV1,
  parseProxyHeader,
  V1_MAX_LENGTH,
} from '../../packages/sockworker/src/proxy-protocol/parse.ts'
import { bytes, checkEqual, checkThat, type FuzzTarget } from '../engine/target.ts'

const target: FuzzTarget = {
  seeds: [
    bytes('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n'),
    bytes('PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 65535 0\r\n'),
    bytes(
      'PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n',
    ),
    bytes('PROXY UNKNOWN\r\n'),
    bytes('PROXY UNKNOWN ffff::1 ::1 1 2\r\nhello'),
  ],
  dictionary: ['PROXY ', 'TCP4', 'TCP6', 'UNKNOWN', '::', '255.255.255.255', '65535', '\r\n'].map(
    bytes,
  ),
  maxLength: 256,
  check(input) {
    const result = parseProxyHeader(input, 'v1')
    if (result.status === 'incomplete') {
      checkThat(input.length < V1_MAX_LENGTH, 'incomplete after 107 bytes')
      return
    }
    if (result.status === 'invalid') return
    checkThat(result.consumed <= V1_MAX_LENGTH, `consumed ${result.consumed} > 107 bytes`)
    const again = parseProxyHeader(encodeProxyHeaderV1(result.header), 'v1')
    checkThat(
      again.status === 'done',
      `the encoded header does not parse: ${JSON.stringify(again)}`,
    )
    if (again.status === 'done') checkEqual(again.header, result.header, 'v1 round trip')
  },
}
export default target
