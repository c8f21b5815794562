/**
 * `parseAddress` of `@sockworker/sockets` on arbitrary text: a host and a
 * port, or the TypeError/RangeError it documents; `formatAddress` of what it
 * parsed parses back to the same.
 */
import { formatAddress, parseAddress } from '../../packages/sockets/src/address.ts'
import { bytes, checkEqual, expectOnly, type FuzzTarget } from '../engine/target.ts'

const decoder = new TextDecoder()
const target: FuzzTarget = {
  seeds: ['127.0.0.1:80', '[::1]:443', 'example.com:65535', '[fe80::1%eth0]:1', 'db:5432'].map(
    bytes,
  ),
  dictionary: ['[', ']', ':', '::', '%', '65536', '0', '@', '/', ' '].map(bytes),
  maxLength: 300,
  check(input) {
    const text = decoder.decode(input)
    const parsed = expectOnly(
      () => parseAddress(text),
      [TypeError, RangeError],
      /^(Cannot parse address|Invalid host name)/,
    )
    if (parsed === undefined) return
    const again = parseAddress(formatAddress(parsed.hostname, parsed.port))
    checkEqual(again, parsed, 'formatAddress round trip')
  },
}
export default target
