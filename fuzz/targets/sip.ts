/**
 * SIP requests over UDP (examples/sip `parseRequest`): a request or
 * `undefined`, never an exception; the response written for it
 * (`formatResponse`) is CRLF-separated lines with no bare CR or LF, so a
 * header value cannot smuggle a line into it.
 */
import { formatResponse, parseRequest } from '../../examples/sip/message.ts'
import { bytes, checkThat, type FuzzTarget, latin1 } from '../engine/target.ts'

const target: FuzzTarget = {
  seeds: [
    'INVITE sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:bob@example.test>\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\nContent-Length: 4\r\n\r\nv=0\n',
    'OPTIONS sip:x SIP/2.0\nv: SIP/2.0/UDP h\nf: a\nt: b\ni: c\nCSeq: 2 OPTIONS\n l: 0\n\n',
    'Via: SIP/2.0/UDP h\r\nFrom: a\r\n\r\n',
  ].map(bytes),
  dictionary: ['Via: ', 'CSeq: ', '\r\n', ' ', '\t', 'Content-Length: ', 'SIP/2.0'].map(bytes),
  maxLength: 2048,
  check(input) {
    const request = parseRequest(input)
    if (request === undefined) return
    const status = request.problem === undefined ? 200 : 400
    const response = latin1(formatResponse(request, { status, to: 'x;tag=1', body: 'b' }))
    const lines = response.split('\r\n')
    for (const line of lines) {
      checkThat(
        !/[\r\n]/.test(line),
        `a bare CR or LF in the response line ${JSON.stringify(line)}`,
      )
    }
  },
}
export default target
