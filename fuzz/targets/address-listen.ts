/**
 * `parseListenAddress` (config `listen = "[host:]port"`): a host and a port
 * or a failure, never an exception; a parsed address written back as
 * `host:port` (bracketed for IPv6) parses to the same.
 */
import { parseListenAddress } from '../../packages/sockworker/src/config/address.ts'
import { bytes, checkEqual, checkThat, type FuzzTarget } from '../engine/target.ts'

const decoder = new TextDecoder()
const target: FuzzTarget = {
  seeds: ['7000', '127.0.0.1:7000', '0.0.0.0:0', '[::1]:7000', '[::]:65535', 'localhost:25'].map(
    bytes,
  ),
  dictionary: ['[', ']', ':', '::', '65536', '0', '@', '/', ' ', '-1', '1e3'].map(bytes),
  maxLength: 300,
  check(input) {
    // The first byte picks the form: TOML gives a string or an integer.
    const text = decoder.decode(input.subarray(1))
    const value = (input[0] ?? 0) < 32 ? Number.parseFloat(text) : text
    const parsed = parseListenAddress(value)
    if (!parsed.ok) return
    const { hostname, port } = parsed.value
    checkThat(Number.isInteger(port) && port >= 0 && port <= 65535, 'port')
    const written = hostname.includes(':') ? `[${hostname}]:${port}` : `${hostname}:${port}`
    checkEqual(parseListenAddress(written), parsed, 'listen address round trip')
  },
}
export default target
