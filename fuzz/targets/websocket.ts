/**
 * WebSocket (examples/transcoder): the upgrade request head (`readHead`,
 * `acceptUpgrade`: a head or `HandshakeError`), then client frames in
 * arbitrary chunks (`MessageReader`, `readCloseCode`: messages or
 * `CloseError`). A message re-encoded as a masked frame reads back the same.
 */
import {
  CloseError,
  encodeFrame,
  MessageReader,
  Opcode,
  readCloseCode,
} from '../../examples/transcoder/frames.ts'
import { acceptUpgrade, HandshakeError, readHead } from '../../examples/transcoder/handshake.ts'
import {
  bytes,
  checkEqual,
  chunksOf,
  expectOnly,
  expectOnlyAsync,
  type FuzzTarget,
} from '../engine/target.ts'

const MAX = 1 << 20
const masked = (fin: number, opcode: number, payload: number[], key = [1, 2, 3, 4]) => {
  const body = payload.map((byte, i) => byte ^ key[i & 3]!)
  return [fin | opcode, 0x80 | payload.length, ...key, ...body]
}
const head =
  'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
const target: FuzzTarget = {
  seeds: [
    Uint8Array.of(0, ...bytes(head), ...masked(0x80, 1, [104, 105])),
    Uint8Array.of(
      5,
      ...bytes(head),
      ...masked(0, 2, [1, 2]),
      ...masked(0x80, 9, []),
      ...masked(0x80, 0, [3]),
      ...masked(0x80, 8, [3, 232, 111, 107]),
    ),
    Uint8Array.of(2, ...bytes(head), 0x82, 0xfe, 0x01, 0x00, 0, 0, 0, 0, ...new Uint8Array(256)),
    Uint8Array.of(1, ...bytes(head), 0x82, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4),
  ],
  dictionary: [
    bytes('\r\n\r\n'),
    Uint8Array.of(0x80, 0x81),
    Uint8Array.of(0xfe, 0xff, 0xff),
    Uint8Array.of(0xff),
  ],
  maxLength: 2048,
  async check(input) {
    const parsed = expectOnly(() => readHead(input.subarray(1)), [HandshakeError])
    if (parsed === undefined) return
    await expectOnlyAsync(() => acceptUpgrade(parsed.head), [HandshakeError])
    const reader = new MessageReader(MAX)
    expectOnly(() => {
      for (const chunk of chunksOf(Uint8Array.of(input[0] ?? 0, ...parsed.rest))) {
        reader.push(chunk)
        for (let message = reader.next(); message; message = reader.next()) {
          if (message.opcode === Opcode.close) readCloseCode(message.payload)
          const frame = encodeFrame(message.opcode, message.payload)
          const again = new MessageReader(MAX)
          again.push(mask(frame))
          checkEqual(again.next(), message, 'frame round trip')
        }
      }
    }, [CloseError])
  },
}

/** A server frame as a client sends it: mask bit set, an all-zero key. */
function mask(frame: Uint8Array): Uint8Array {
  const second = frame[1]! & 0x7f
  const lengthEnd = second === 126 ? 4 : second === 127 ? 10 : 2
  const out = new Uint8Array(frame.length + 4)
  out.set(frame.subarray(0, lengthEnd))
  out[1] = out[1]! | 0x80
  out.set(frame.subarray(lengthEnd), lengthEnd + 4)
  return out
}
export default target
