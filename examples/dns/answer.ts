/**
 * How an authoritative server answers one question from its zone: the
 * records asked for, a CNAME chain followed inside the zone, NXDOMAIN or
 * NODATA with the SOA for negative caching (RFC 2308), REFUSED for names
 * the zone does not hold.
 */

import {
  CLASS_ANY,
  CLASS_IN,
  EDNS_SIZE,
  encodeResponse,
  type Parsed,
  parseQuery,
  RCODE,
  type Response,
  TYPE,
} from './wire.ts'
import type { Zone, ZoneRecord } from './zone.ts'

/** The most bytes a TCP message can hold: its length prefix has 16 bits. */
const TCP_LIMIT = 0xffff
/** Without EDNS, a UDP response is at most 512 bytes (RFC 1035 section 4.2.1). */
const UDP_LIMIT = 512

/**
 * Answers one DNS message with the bytes of the response, or `undefined`
 * when it must go unanswered (too short to hold a header, or a response).
 *
 * @example
 * const reply = respond(datagram.data, zone, 'udp')
 * if (reply) await writer.write(reply)
 */
export function respond(
  message: Uint8Array,
  zone: Zone,
  transport: 'udp' | 'tcp',
): Uint8Array | undefined {
  const parsed = parseQuery(message)
  if (parsed === undefined) return undefined
  const limit =
    transport === 'tcp'
      ? TCP_LIMIT
      : Math.max(UDP_LIMIT, Math.min(parsed.query.udpSize ?? UDP_LIMIT, EDNS_SIZE))
  return encodeResponse(answer(parsed, zone), limit)
}

function answer({ query, rcode }: Parsed, zone: Zone): Response {
  const response: Response = {
    query,
    rcode,
    aa: false,
    answers: [],
    authority: [],
    additional: [],
  }
  const question = query.question
  if (rcode !== RCODE.NOERROR || question === undefined) return response
  const refused =
    (question.class !== CLASS_IN && question.class !== CLASS_ANY) ||
    !inZone(question.name, zone.origin) ||
    // Zone transfers are not offered.
    question.type === TYPE.AXFR ||
    question.type === TYPE.IXFR
  if (refused) return { ...response, rcode: RCODE.REFUSED }
  response.aa = true
  lookup(response, question.name, question.type, zone)
  addAddresses(response, zone)
  return response
}

/** Fills the answer: the records asked for, following CNAMEs while they stay in the zone. */
function lookup(response: Response, start: string, type: number, zone: Zone): void {
  const seen = new Set<string>()
  for (let name = start; !seen.has(name) && inZone(name, zone.origin); ) {
    seen.add(name)
    const records = zone.records.get(name)
    if (records === undefined) {
      // A name with records below it exists, though it holds none itself.
      if (!hasDescendants(zone, name)) response.rcode = RCODE.NXDOMAIN
      response.authority.push(negativeSoa(zone))
      return
    }
    const matching = records.filter(
      (record) => type === TYPE.ANY || TYPE[record.data.type] === type,
    )
    if (matching.length > 0) {
      response.answers.push(...matching)
      return
    }
    const cname = records.find((record) => record.data.type === 'CNAME')
    if (cname?.data.type !== 'CNAME') {
      response.authority.push(negativeSoa(zone)) // NODATA: the name exists, the type does not
      return
    }
    response.answers.push(cname)
    name = cname.data.target
  }
}

/** Addresses of MX exchanges and name servers the zone holds, so the client need not ask. */
function addAddresses(response: Response, zone: Zone): void {
  const known = new Set<ZoneRecord>(response.answers)
  for (const record of response.answers) {
    const { data } = record
    const target = data.type === 'MX' ? data.exchange : data.type === 'NS' ? data.target : undefined
    if (target === undefined) continue
    for (const address of zone.records.get(target) ?? []) {
      const isAddress = address.data.type === 'A' || address.data.type === 'AAAA'
      if (isAddress && !known.has(address)) {
        known.add(address)
        response.additional.push(address)
      }
    }
  }
}

/** The SOA for a negative answer: its TTL is the lesser of its own and its minimum (RFC 2308). */
function negativeSoa(zone: Zone): ZoneRecord {
  const { soa } = zone
  const minimum = soa.data.type === 'SOA' ? (soa.data.numbers[4] ?? soa.ttl) : soa.ttl
  return { ...soa, ttl: Math.min(soa.ttl, minimum) }
}

function inZone(name: string, origin: string): boolean {
  return origin === '.' || name === origin || name.endsWith(`.${origin}`)
}

function hasDescendants(zone: Zone, name: string): boolean {
  for (const owner of zone.records.keys()) if (owner.endsWith(`.${name}`)) return true
  return false
}
