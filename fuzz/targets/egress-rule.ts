/**
 * Egress rules (`parseRule`: `[workers.egress]` in the config and `--allow`
 * on the command line): a rule or the TypeError it documents ("Invalid
 * egress rule …"); a rule's ports are a range within 1-65535, and a CIDR
 * rule's address is inside its own block.
 */
import { inCidr } from '../../packages/sockworker/src/egress/cidr.ts'
import { parseRule } from '../../packages/sockworker/src/egress/rules.ts'
import { bytes, checkThat, expectOnly, type FuzzTarget } from '../engine/target.ts'

const decoder = new TextDecoder()
const target: FuzzTarget = {
  seeds: [
    'public:443',
    '10.0.0.0/8:5432-5439',
    '[2001:db8::/32]:443',
    '[2001:db8::]/32',
    '[::1]:53',
    '*.example.com',
    'db.internal:5432',
    '::ffff:0:0/96',
    'link-local',
  ].map(bytes),
  dictionary: ['[', ']', '/', ':', '-', '*.', '::', 'ffff', '65535', '0', 'xn--', '.'].map(bytes),
  maxLength: 300,
  check(input) {
    const text = decoder.decode(input)
    const rule = expectOnly(() => parseRule(text, 'allow[0]'), [TypeError], /^Invalid egress rule /)
    if (rule === undefined) return
    if (rule.ports !== undefined) {
      const { low, high } = rule.ports
      checkThat(1 <= low && low <= high && high <= 65535, `ports ${low}-${high}`)
    }
    if (rule.target.kind === 'cidr') {
      const { cidr } = rule.target
      const max = cidr.family === 4 ? 32 : 128
      checkThat(
        Number.isInteger(cidr.prefix) && cidr.prefix >= 0 && cidr.prefix <= max,
        `prefix ${cidr.prefix}`,
      )
      checkThat(inCidr(cidr, cidr), 'a block contains its own address')
    }
  },
}
export default target
