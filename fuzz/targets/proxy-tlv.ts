/**
 * PROXY v2 TLV blocks (`parseTlvs`): a reason string or whole TLVs that
 * cover the block exactly; `writeTlvs` writes them back byte for byte.
 */
import { parseTlvs, writeTlvs } from '../../packages/sockworker/src/proxy-protocol/tlv.ts'
import { checkEqual, checkThat, type FuzzTarget } from '../engine/target.ts'

const target: FuzzTarget = {
  seeds: [
    Uint8Array.of(0x02, 0x00, 0x01, 0x61),
    Uint8Array.of(0x01, 0x00, 0x02, 0x68, 0x32, 0x03, 0x00, 0x04, 1, 2, 3, 4),
    Uint8Array.of(0x20, 0x00, 0x05, 0x07, 0, 0, 0, 0, 0x04, 0x00, 0x00),
    new Uint8Array(0),
  ],
  maxLength: 1024,
  check(input) {
    const tlvs = parseTlvs(input)
    if (typeof tlvs === 'string') return
    let length = 0
    for (const { value } of tlvs) length += 3 + value.length
    checkEqual(length, input.length, 'the TLVs cover the block')
    const out = new Uint8Array(length)
    checkThat(writeTlvs(out, 0, tlvs) === length, 'writeTlvs ends at the block end')
    checkEqual(out, input, 'TLV round trip')
  },
}
export default target
