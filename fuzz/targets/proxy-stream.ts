/**
 * The listener's incremental reading (`read-proxy-header.ts` calls
 * `parseProxyHeader` on all bytes so far after each chunk): whatever the
 * chunking, the first final answer equals the one for the whole buffer, and
 * `incomplete` is never the answer once a header's maximum size is there.
 */
import {
  type ProxyVersion,
  parseProxyHeader,
} from '../../packages/sockworker/src/proxy-protocol/parse.ts'
import { checkEqual, chunksOf, type FuzzTarget } from '../engine/target.ts'
import v1 from './proxy-v1.ts'
import v2 from './proxy-v2.ts'

const VERSIONS: ProxyVersion[] = ['v1', 'v2', 'any']
const target: FuzzTarget = {
  seeds: [...v1.seeds, ...v2.seeds].map((seed) => Uint8Array.of(7, ...seed)),
  maxLength: 1024,
  check(input) {
    const accept = VERSIONS[(input[0] ?? 0) % 3]!
    const whole = input.subarray(1)
    const expected = parseProxyHeader(whole, accept)
    let end = 0
    for (const chunk of chunksOf(input)) {
      end += chunk.length
      const result = parseProxyHeader(whole.subarray(0, end), accept)
      if (result.status === 'incomplete') continue
      // Reasons quote the bytes so far, so only the status has to agree for them.
      const same = result.status === 'invalid' ? { status: 'invalid' } : result
      const want = expected.status === 'invalid' ? { status: 'invalid' } : expected
      checkEqual(same, want, `the answer after ${end} of ${whole.length} bytes`)
      return
    }
    checkEqual(expected.status, 'incomplete', 'the answer for the whole input')
  },
}
export default target
