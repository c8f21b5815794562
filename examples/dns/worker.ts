/**
 * DNS: an authoritative name server for one zone, over UDP and TCP. The zone
 * comes from a master file (zone.db next to this file, or the ZONE var).
 *
 *   dig @127.0.0.1 -p 5353 www.example.test A +short
 *   dig @127.0.0.1 -p 5353 example.test MX +tcp
 */
import { readFileSync } from 'node:fs'
import type { Datagram, Socket } from '@sockworker/sockets'
import { respond } from './answer.ts'
import { FrameReader, frame } from './frames.ts'
import { parseZone, type Zone } from './zone.ts'

// Read once per replica, on the first query: vars reach the worker with its
// first socket, not at module load. A reload (SIGHUP) starts fresh replicas,
// so an edited zone file is read again then.
const zones = new Map<string, Zone>()

function zoneFor(env: Record<string, unknown>): Zone {
  const setting = env['ZONE']
  const path = typeof setting === 'string' && setting !== '' ? setting : 'zone.db'
  let zone = zones.get(path)
  if (zone === undefined) {
    // Relative to this file, so the worker runs from any directory.
    const text = readFileSync(new URL(path, import.meta.url), 'utf8')
    zone = parseZone(text, `Zone file "${path}"`)
    zones.set(path, zone)
  }
  return zone
}

export default {
  async connect(socket: Socket, env: Record<string, unknown>): Promise<void> {
    const zone = zoneFor(env)
    if (socket.info.type === 'udp') await serveUdp(socket, zone)
    else await serveTcp(socket, zone)
  },
}

/** A UDP flow: every datagram from one client is a query, answered with one datagram. */
async function serveUdp(socket: Socket, zone: Zone): Promise<void> {
  const writer = socket.writable.getWriter()
  for await (const { data } of socket.readable as ReadableStream<Datagram>) {
    // Garbage and responses get no reply at all (`respond` returns
    // undefined), so this server cannot be used to bounce packets around.
    const reply = respond(data, zone, 'udp')
    if (reply !== undefined) await writer.write(reply)
  }
}

/** A TCP connection: length-prefixed queries, as many as the client sends, answered in order. */
async function serveTcp(socket: Socket, zone: Zone): Promise<void> {
  const writer = socket.writable.getWriter()
  const frames = new FrameReader()
  for await (const chunk of socket.readable as ReadableStream<Uint8Array>) {
    for (const message of frames.push(chunk)) {
      const reply = respond(message, zone, 'tcp')
      if (reply !== undefined) await writer.write(frame(reply))
    }
    // A length too short for a DNS header means the framing is lost: the
    // only safe thing is to close the connection (RFC 7766 section 6.2.4).
    if (frames.broken) break
  }
  await socket.close()
}
