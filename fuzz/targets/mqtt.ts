/**
 * MQTT 3.1.1 packets (examples/mqtt): the stream reader in arbitrary chunks,
 * then each packet's body parser; `MalformedPacket` is the one documented
 * error. A PUBLISH encodes back to the packet it was read from.
 */
import { MalformedPacket, PacketReader, Type } from '../../examples/mqtt/codec.ts'
import {
  parseConnect,
  parsePacketId,
  parsePublish,
  parseSubscribe,
  publish,
} from '../../examples/mqtt/packets.ts'
import { checkEqual, chunksOf, expectOnly, type FuzzTarget } from '../engine/target.ts'

const text = new TextEncoder()
const str = (value: string) => [0, value.length, ...text.encode(value)]
const target: FuzzTarget = {
  seeds: [
    Uint8Array.of(
      0x03,
      0x10,
      0x1a,
      ...str('MQTT'),
      4,
      0xc6,
      0,
      60,
      ...str('c1'),
      ...str('w/t'),
      ...str('bye'),
      ...str('u'),
      ...str('p'),
      0x30,
      0x05,
      ...str('a/b'),
      0x68,
    ),
    Uint8Array.of(
      0x40,
      0x32,
      0x0a,
      ...str('a/b'),
      0,
      7,
      1,
      2,
      3,
      0x82,
      0x08,
      0,
      1,
      ...str('a/#'),
      1,
      0xa2,
      0x07,
      0,
      2,
      ...str('a/+'),
      0x62,
      0x02,
      0,
      7,
      0xc0,
      0x00,
      0xe0,
      0x00,
    ),
    Uint8Array.of(0x01, 0x10, 0xff, 0xff, 0xff, 0x7f, 0x30, 0x80, 0x80, 0x80, 0x80, 0x01),
  ],
  maxLength: 2048,
  check(input) {
    const reader = new PacketReader(256 * 1024)
    expectOnly(() => {
      for (const chunk of chunksOf(input)) {
        for (const packet of reader.push(chunk)) {
          if (packet.type === Type.CONNECT) parseConnect(packet.body)
          else if (packet.type === Type.SUBSCRIBE) parseSubscribe(packet.body, true)
          else if (packet.type === Type.UNSUBSCRIBE) parseSubscribe(packet.body, false)
          else if (packet.type === Type.PUBLISH) {
            const message = parsePublish(packet)
            const { packetId, ...rest } = message
            const bytes = publish(packetId === undefined ? rest : { ...rest, packetId })
            const [again] = new PacketReader(256 * 1024).push(bytes)
            checkEqual(again?.body, packet.body, 'PUBLISH round trip')
          } else if (packet.type >= Type.PUBACK && packet.type <= Type.PUBCOMP) {
            parsePacketId(packet.body)
          }
        }
      }
    }, [MalformedPacket])
  },
}
export default target
