/**
 * PROXY protocol v2 with TLVs (`parseProxyHeader` with 'v2'): never throws,
 * consumes exactly 16 + len bytes, and a header it accepts (TLVs and all)
 * encodes back to bytes that parse to the same header.
 */
import {
  encodeProxyHeaderV2,
  parseProxyHeader,
  V2_MAX_LENGTH,
} from '../../packages/sockworker/src/proxy-protocol/parse.ts'
import { bytes, checkEqual, checkThat, type FuzzTarget } from '../engine/target.ts'

const text = new TextEncoder()
const target: FuzzTarget = {
  seeds: [
    encodeProxyHeaderV2({ version: 2, command: 'local', protocol: 'unknown' }),
    encodeProxyHeaderV2({
      version: 2,
      command: 'proxy',
      protocol: 'tcp4',
      sourceAddress: '10.0.0.1',
      sourcePort: 5000,
      destinationAddress: '10.0.0.2',
      destinationPort: 443,
      tlvs: [{ type: 0x02, value: text.encode('example.com') }],
    }),
    encodeProxyHeaderV2(
      {
        version: 2,
        command: 'proxy',
        protocol: 'udp6',
        sourceAddress: '2001:db8::1',
        sourcePort: 53,
        destinationAddress: '::ffff:127.0.0.1',
        destinationPort: 65535,
        tlvs: [
          { type: 0x01, value: text.encode('h2') },
          { type: 0x20, value: Uint8Array.of(0x07, 0, 0, 0, 0) },
        ],
      },
      { crc32c: true },
    ),
    // AF_UNIX with its 216-byte address block, then payload.
    Uint8Array.of(
      ...encodeProxyHeaderV2({ version: 2, command: 'local', protocol: 'unknown' }).subarray(0, 12),
      0x21,
      0x31,
      0,
      216,
      ...new Uint8Array(216),
      0x68,
      0x69,
    ),
  ],
  dictionary: [
    Uint8Array.of(0x21, 0x11),
    Uint8Array.of(0x20, 0x00),
    Uint8Array.of(0x03, 0, 4),
    bytes('\r\n\r\n\0\r\nQUIT\n'),
  ],
  maxLength: 1024,
  check(input) {
    const result = parseProxyHeader(input, 'v2')
    if (result.status === 'incomplete') {
      checkThat(input.length < V2_MAX_LENGTH, 'incomplete after the longest header')
      return
    }
    if (result.status === 'invalid') return
    const length = 16 + ((input[14]! << 8) | input[15]!)
    checkEqual(result.consumed, length, 'consumed')
    const again = parseProxyHeader(encodeProxyHeaderV2(result.header), 'v2')
    checkThat(
      again.status === 'done',
      `the encoded header does not parse: ${JSON.stringify(again)}`,
    )
    if (again.status === 'done') checkEqual(again.header, result.header, 'v2 round trip')
  },
}
export default target
