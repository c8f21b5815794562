/**
 * The tunnel daemon's token check on request headers a client controls
 * (`Sec-WebSocket-Protocol`, `Authorization`): `offeredToken`,
 * `tokenCheck` and `selectProtocol` never throw, and the right token passes.
 */
import type { IncomingMessage } from 'node:http'
import { tunnelWire } from '../../packages/sockets/src/tunnel/wire.ts'
import {
  offeredToken,
  selectProtocol,
  tokenCheck,
} from '../../packages/sockworker/src/tunnel/auth.ts'
import { bytes, checkThat, type FuzzTarget, latin1 } from '../engine/target.ts'

const check = tokenCheck('s3cret-token')
const target: FuzzTarget = {
  seeds: [
    bytes(`${tunnelWire.protocol}, ${tunnelWire.tokenPrefix}s3cret-token\nBearer s3cret-token`),
    bytes(`${tunnelWire.tokenPrefix}wrong\n`),
    bytes('\nbearer   abc  '),
    bytes('chat, superchat\nBasic dXNlcg=='),
  ],
  dictionary: [tunnelWire.protocol, tunnelWire.tokenPrefix, 'Bearer ', ',', '\t'].map(bytes),
  maxLength: 512,
  check(input) {
    // Header values as Node hands them over: Latin-1 text, split at the first LF.
    const [protocols = '', authorization] = latin1(input).split('\n', 2)
    const headers: Record<string, string> = { 'sec-websocket-protocol': protocols }
    if (authorization !== undefined) headers['authorization'] = authorization
    const request = { headers } as unknown as IncomingMessage
    const token = offeredToken(request)
    const refusal = check(request)
    checkThat((token === 's3cret-token') === (refusal === undefined), `token ${token}: ${refusal}`)
    selectProtocol(new Set(protocols.split(',').map((protocol) => protocol.trim())))
  },
}
export default target
