/**
 * sockworker.toml (`parseConfig`: TOML, then the one schema, with egress
 * rules checked as `serve` checks them): a config or a list of issues,
 * never a rejection, for any text.
 */
import { readFileSync } from 'node:fs'
import { parseConfig } from '../../packages/sockworker/src/config/load.ts'
import { parseRule } from '../../packages/sockworker/src/egress/rules.ts'
import { bytes, checkThat, type FuzzTarget } from '../engine/target.ts'

const file = new URL('../../examples/sockworker.toml', import.meta.url)
const decoder = new TextDecoder()
const target: FuzzTarget = {
  seeds: [
    new Uint8Array(readFileSync(file)),
    bytes(
      '[[workers]]\nname = "a"\nscript = "echo/worker.ts"\n[[workers.listeners]]\ntype = "tcp"\naddress = 7000\nproxy_protocol = "v2"\n',
    ),
    bytes(
      '[[workers]]\nname = "b"\nscript = "echo/worker.ts"\nvars = { A = { env = "HOME" } }\n[workers.egress]\nallow = ["10.0.0.0/8"]\n[[workers.listeners]]\ntype = "tls"\naddress = "[::1]:0"\ncert = { file = "x.pem" }\n',
    ),
  ],
  dictionary: [
    '[[workers]]',
    '[[workers.listeners]]',
    ' = ',
    '"',
    '\n',
    '{ ',
    ' }',
    '[',
    ']',
    '0x',
    'inf',
    'nan',
    '1979-05-27T07:32:00Z',
  ].map(bytes),
  maxLength: 4096,
  async check(input) {
    const result = await parseConfig(decoder.decode(input), file.pathname, {
      env: {},
      checkEgressRule,
    })
    checkThat(result.ok || result.errors.length > 0, 'a failed config with no issues')
  },
}
/** As `sockworker serve` checks rules (cli/serve.ts): the egress module's parser. */
function checkEgressRule(rule: string): string | undefined {
  try {
    parseRule(rule, 'the egress policy')
    return undefined
  } catch (error) {
    if (error instanceof TypeError && error.message.startsWith('Invalid egress rule ')) {
      return error.message
    }
    throw error
  }
}
export default target
