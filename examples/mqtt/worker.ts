/**
 * An MQTT 3.1.1 broker: CONNECT, PUBLISH QoS 0 and 1 (QoS 2 is accepted and
 * delivered at QoS 1), SUBSCRIBE/UNSUBSCRIBE with `+`/`#`, retained
 * messages, keep-alive and last will. A broken packet closes the connection,
 * as MQTT says (§4.8); the broker keeps serving everyone else. QoS 1
 * messages a client has not acknowledged are sent again when its persistent
 * session comes back, after which come those queued while it was away.
 * Retained messages go to the storage binding `env.RETAINED` (var
 * RETAINED_BINDING names another); with the var REDIS_URL, sessions,
 * fan-out and retained messages are shared through Redis instead, and any
 * number of replicas and instances make one broker (redis.ts).
 *
 *   mosquitto_sub -h 127.0.0.1 -p 1883 -t 'sensors/#' -v
 *   mosquitto_pub -h 127.0.0.1 -p 1883 -t sensors/kitchen -m 21.5
 */
import type { Socket } from '@sockworker/sockets'
import {
  acknowledge,
  closeSession,
  type Link,
  type Message,
  openSession,
  publish,
  resend,
  type Session,
  sendRetained,
  subscribe,
  unsubscribe,
  useShared,
} from './broker.ts'
import { MalformedPacket, PacketReader, type QoS, type RawPacket, Type } from './codec.ts'
import * as packets from './packets.ts'
import { RedisShared } from './redis.ts'
import { type RetainedStore, retainedStore } from './retained.ts'
import { isTopicFilter, isTopicName } from './topics.ts'
import { type ByteStreams, mqttStreams } from './websocket.ts'

/** The largest packet accepted; bigger ones close the connection. */
const MAX_PACKET_BYTES = 256 * 1024
/** A client that has not sent CONNECT by then is dropped (§3.1.4). */
const CONNECT_TIMEOUT_MS = 10_000
/** How long a closing connection may take to flush what is queued for it. */
const CLOSE_FLUSH_MS = 2000
/**
 * Bytes written to a client and not yet taken by its socket. Past this the
 * client is slow: QoS 0 messages for it are dropped, and a QoS 1 message
 * closes its connection (a persistent session keeps it for the reconnect).
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024

/** One store per process: the binding, Redis or memory is the same for every connection. */
let retained: RetainedStore | undefined

export default {
  async connect(socket: Socket, env: Record<string, unknown>): Promise<void> {
    retained ??= sharedState(env)
    const streams = await mqttStreams(socket)
    if (streams) await new Connection(streams, retained).run()
  },
}

/**
 * With the var REDIS_URL, sessions, fan-out and retained messages go
 * through Redis, so that every replica and instance is one broker. Without
 * it, this process alone is the broker, and retained messages are in the
 * storage binding.
 */
function sharedState(env: Record<string, unknown>): RetainedStore {
  const url = env['REDIS_URL']
  if (typeof url !== 'string' || url === '') return retainedStore(env)
  const shared = new RedisShared(url)
  useShared({ sessions: shared, bus: shared })
  return shared
}

/** One client's connection: reads packets, answers them, ends with or without its will. */
class Connection implements Link {
  #reader: ReadableStreamDefaultReader<Uint8Array>
  #writer: WritableStreamDefaultWriter<Uint8Array>
  #retained: RetainedStore
  #packets = new PacketReader(MAX_PACKET_BYTES)
  #session: Session | undefined
  #will: packets.Will | undefined
  #keepAliveMs = CONNECT_TIMEOUT_MS
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Set by DISCONNECT (graceful) or by any reason to stop reading. */
  #done = false
  /** Protocol level 4 + a valid CONNECT set this; every other packet needs it. */
  #connected = false
  // QoS 2 packet ids received and not yet released, so a resent PUBLISH is not routed twice.
  #qos2 = new Set<number>()
  /** Bytes handed to the writer and not yet written: see MAX_BUFFERED_BYTES. */
  #buffered = 0
  #dropped = 0

  constructor(streams: ByteStreams, retained: RetainedStore) {
    this.#reader = streams.readable.getReader()
    this.#writer = streams.writable.getWriter()
    this.#retained = retained
  }

  async run(): Promise<void> {
    let graceful = false
    this.#armTimer()
    try {
      while (!this.#done) {
        const { done, value } = await this.#reader.read()
        if (done) break
        for (const packet of this.#packets.push(value)) {
          this.#armTimer()
          // One packet at a time: PUBLISH and SUBSCRIBE may wait on storage.
          graceful = await this.#handle(packet)
          if (this.#done) break
        }
      }
    } catch {
      // A malformed packet (MalformedPacket) or a socket error: either way the
      // connection ends without DISCONNECT, so the will goes out below.
    } finally {
      clearTimeout(this.#timer)
      await this.#finish(graceful)
    }
    // Flush what is queued (a refusing CONNACK, say), but do not wait forever
    // on a peer that stopped reading.
    let timer: ReturnType<typeof setTimeout> | undefined
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_FLUSH_MS)
    })
    await Promise.race([this.#writer.close().catch(() => {}), cap])
    clearTimeout(timer)
  }

  send(bytes: Uint8Array): void {
    this.#buffered += bytes.length
    this.#writer.write(bytes).then(
      () => (this.#buffered -= bytes.length),
      () => this.#stop(),
    )
  }

  offer(bytes: Uint8Array, qos: QoS): boolean {
    if (this.#buffered + bytes.length <= MAX_BUFFERED_BYTES) {
      this.send(bytes)
      return true
    }
    const who = this.#session?.clientId
    if (qos === 0) {
      if (this.#dropped++ === 0) console.warn(`mqtt: "${who}" is slow; dropping QoS 0 messages`)
      return false
    }
    console.warn(`mqtt: "${who}" is slow with a QoS 1 message pending; closing its connection`)
    this.#stop()
    return false
  }

  takeOver(): void {
    this.#stop()
  }

  /** Stops reading: the read loop ends and `run` finishes the session. */
  #stop(): void {
    this.#done = true
    this.#reader.cancel().catch(() => {})
  }

  /** Keep-alive (§3.1.2.10): 1.5 × the client's interval without a packet closes. */
  #armTimer(): void {
    clearTimeout(this.#timer)
    if (this.#keepAliveMs > 0) this.#timer = setTimeout(() => this.#stop(), this.#keepAliveMs)
  }

  /** The will is published unless the client said DISCONNECT (§3.1.2.5). */
  async #finish(graceful: boolean): Promise<void> {
    const session = this.#session
    if (session === undefined) return
    try {
      await closeSession(session, this)
    } catch (error) {
      console.error(`mqtt: could not park the session of "${session.clientId}": ${error}`)
    }
    if (!graceful && this.#will) await this.#publish(this.#will)
  }

  /** Routes a message to subscribers and, if it is retained, stores it (or clears the topic). */
  async #publish(message: Message): Promise<void> {
    const stored = message.retain ? this.#retained.put(message) : undefined
    const routed = publish(message)
    const [store, route] = await Promise.allSettled([stored, routed])
    // The subscribers may have it; only later ones will miss it. Say why, keep serving.
    if (store.status === 'rejected') {
      console.error(
        `mqtt: could not store the retained message on "${message.topic}": ${store.reason}`,
      )
    }
    if (route.status === 'rejected') {
      console.error(`mqtt: could not publish on "${message.topic}": ${route.reason}`)
    }
  }

  /** Handles one packet; returns true when it was DISCONNECT. */
  async #handle(packet: RawPacket): Promise<boolean> {
    if (packet.type === Type.CONNECT) {
      if (this.#connected) throw new MalformedPacket('Second CONNECT')
      await this.#onConnect(packets.parseConnect(packet.body))
      return false
    }
    if (!this.#connected) throw new MalformedPacket(`Packet type ${packet.type} before CONNECT`)
    switch (packet.type) {
      case Type.PUBLISH:
        await this.#onPublish(packets.parsePublish(packet))
        return false
      case Type.PUBREL:
        this.#qos2.delete(packets.parsePacketId(packet.body))
        this.send(packets.ack(Type.PUBCOMP, packets.parsePacketId(packet.body)))
        return false
      case Type.PUBACK:
        if (this.#session) acknowledge(this.#session, packets.parsePacketId(packet.body))
        return false
      case Type.SUBSCRIBE:
        await this.#onSubscribe(packet.body)
        return false
      case Type.UNSUBSCRIBE:
        this.#onUnsubscribe(packet.body)
        return false
      case Type.PINGREQ:
        this.send(packets.pingresp)
        return false
      case Type.DISCONNECT:
        this.#will = undefined
        this.#done = true
        return true
      default:
        throw new MalformedPacket(`A client may not send packet type ${packet.type}`)
    }
  }

  async #onConnect(connect: packets.Connect): Promise<void> {
    if (connect.level !== 4) return this.#refuse(1) // unacceptable protocol version
    let clientId = connect.clientId
    if (clientId === '') {
      if (!connect.cleanSession) return this.#refuse(2) // identifier rejected (§3.1.3-8)
      clientId = `auto-${crypto.randomUUID()}`
    }
    if (connect.will && !isTopicName(connect.will.topic)) {
      throw new MalformedPacket(`Will topic "${connect.will.topic}" is not a topic name`)
    }
    const { session, present, pending } = await openSession(clientId, connect.cleanSession, this)
    this.#session = session
    this.#will = connect.will
    this.#connected = true
    this.#keepAliveMs = connect.keepAlive * 1500
    this.#armTimer()
    this.send(packets.connack(present, 0))
    resend(session, pending)
  }

  /** CONNACK with an error code, then close (§3.2.2.3). */
  #refuse(returnCode: number): void {
    this.send(packets.connack(false, returnCode))
    this.#done = true
  }

  async #onPublish(publish: packets.Publish): Promise<void> {
    if (!isTopicName(publish.topic)) {
      throw new MalformedPacket(`Topic name "${publish.topic}" is empty or has a wildcard`)
    }
    const { packetId, qos } = publish
    if (qos === 2 && packetId !== undefined) {
      this.send(packets.ack(Type.PUBREC, packetId))
      if (this.#qos2.has(packetId)) return // a resend: routed already
      this.#qos2.add(packetId)
    }
    // PUBACK only once a retained message is stored: acknowledged means kept.
    await this.#publish({ ...publish, qos: Math.min(qos, 1) as QoS })
    if (qos === 1 && packetId !== undefined) this.send(packets.ack(Type.PUBACK, packetId))
  }

  async #onSubscribe(body: Uint8Array): Promise<void> {
    const session = this.#session
    if (session === undefined) return
    const { packetId, filters } = packets.parseSubscribe(body, true)
    const codes = filters.map(({ filter, qos }) =>
      isTopicFilter(filter) ? subscribe(session, filter, qos) : 0x80,
    )
    this.send(packets.suback(packetId, codes))
    let messages: Message[] = []
    try {
      messages = await this.#retained.all()
    } catch (error) {
      console.error(`mqtt: could not read retained messages: ${error}`)
    }
    for (const { filter } of filters) sendRetained(session, filter, messages)
  }

  #onUnsubscribe(body: Uint8Array): void {
    const session = this.#session
    if (session === undefined) return
    const { packetId, filters } = packets.parseSubscribe(body, false)
    for (const { filter } of filters) unsubscribe(session, filter)
    this.send(packets.ack(Type.UNSUBACK, packetId))
  }
}
