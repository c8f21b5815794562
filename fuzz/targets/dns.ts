/**
 * DNS messages (examples/dns): TCP frames in arbitrary chunks, and every
 * message through `respond` with the example zone, over UDP and TCP. No
 * exception; a reply keeps the query's ID, is a response, and fits the
 * transport's limit (512 bytes, or the EDNS size up to 1232, over UDP).
 */
import { readFileSync } from 'node:fs'
import { respond } from '../../examples/dns/answer.ts'
import { FrameReader } from '../../examples/dns/frames.ts'
import { parseZone } from '../../examples/dns/zone.ts'
import { checkThat, chunksOf, type FuzzTarget } from '../engine/target.ts'

const zone = parseZone(readFileSync(new URL('../../examples/dns/zone.db', import.meta.url), 'utf8'))
const name = (...labels: string[]) => [
  ...labels.flatMap((label) => [label.length, ...new TextEncoder().encode(label)]),
  0,
]
const query = (id: number, labels: string[], type: number, opt: boolean) => [
  id >> 8,
  id & 0xff,
  0x01,
  0x00,
  0,
  1,
  0,
  0,
  0,
  0,
  0,
  opt ? 1 : 0,
  ...name(...labels),
  0,
  type,
  0,
  1,
  ...(opt ? [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0] : []),
]
const framed = (message: number[]) => [message.length >> 8, message.length & 0xff, ...message]
const target: FuzzTarget = {
  seeds: [
    Uint8Array.of(3, ...framed(query(0x1234, ['www', 'example', 'test'], 1, false))),
    Uint8Array.of(
      64,
      ...framed(query(7, ['example', 'test'], 255, true)),
      ...framed(query(8, ['nope', 'test'], 28, false)),
    ),
    // A compression pointer to itself, and a pointer chain.
    Uint8Array.of(1, ...framed([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])),
    Uint8Array.of(9, ...framed([0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 0xc0, 12, 0, 15, 0, 1])),
  ],
  dictionary: [
    Uint8Array.of(0xc0, 0x0c),
    Uint8Array.of(0, 41),
    Uint8Array.of(0x3f),
    Uint8Array.of(0, 0xff),
  ],
  maxLength: 2048,
  check(input) {
    const frames = new FrameReader()
    for (const chunk of chunksOf(input)) {
      for (const message of frames.push(chunk)) {
        for (const transport of ['udp', 'tcp'] as const) {
          const reply = respond(message, zone, transport)
          if (reply === undefined) continue
          const limit = transport === 'tcp' ? 0xffff : 1232
          checkThat(reply.length <= limit, `a ${transport} reply of ${reply.length} bytes`)
          checkThat(reply[0] === message[0] && reply[1] === message[1], 'the reply keeps the ID')
          checkThat((reply[2]! & 0x80) !== 0, 'the reply is a response')
        }
      }
    }
  },
}
export default target
