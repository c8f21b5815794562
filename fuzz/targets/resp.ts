/**
 * RESP2 requests (examples/kv `RespReader`), fed in arbitrary chunks: whole
 * commands or `ProtocolError`, never anything else; a command encoded as an
 * array of bulk strings reads back as the same arguments.
 */
import { array, bulk, ProtocolError, RespReader } from '../../examples/kv/resp.ts'
import { bytes, checkEqual, chunksOf, expectOnly, type FuzzTarget } from '../engine/target.ts'

const target: FuzzTarget = {
  seeds: [
    '\x05*2\r\n$3\r\nGET\r\n$1\r\nk\r\n',
    '\x40*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\nPING\r\n',
    '\x00PING\r\nECHO  a\tb\n*0\r\n*-1\r\n',
    '\x10*1\r\n$-1\r\n*1\r\n$536870912\r\nabc',
  ].map(bytes),
  dictionary: ['*', '$', '\r\n', '-1', '4294967295', '1048577', '9999999999'].map(bytes),
  maxLength: 2048,
  check(input) {
    const reader = new RespReader()
    const commands: Uint8Array[][] = []
    expectOnly(() => {
      for (const chunk of chunksOf(input)) {
        reader.push(chunk)
        for (let args = reader.next(); args; args = reader.next()) commands.push(args)
      }
    }, [ProtocolError])
    for (const args of commands) {
      const again = new RespReader()
      again.push(array(args.map((arg) => bulk(arg))))
      checkEqual(again.next(), args, 'RESP round trip')
    }
  },
}
export default target
