/**
 * The DNS wire format (RFC 1035 section 4), as much as an authoritative
 * server needs: it reads a query and writes a response, with name
 * compression and the EDNS OPT record (RFC 6891).
 */

import { Writer } from './writer.ts'
import type { ZoneRecord } from './zone.ts'

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const

export const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const

export const CLASS_IN = 1
export const CLASS_ANY = 255
const HEADER = 12

export interface Question {
  /** The name's labels, exactly as asked (case kept, for the echo). */
  labels: Uint8Array[]
  /** Lower case with the trailing dot, for lookup: `www.example.test.` */
  name: string
  type: number
  class: number
}

export interface Query {
  id: number
  opcode: number
  /** Recursion desired: copied into the response, as RFC 1035 says. */
  rd: boolean
  question: Question | undefined
  /** The client's EDNS UDP payload size, when it sent an OPT record. */
  udpSize: number | undefined
}

/** A query, and the error to answer it with if it is not one we can answer. */
export interface Parsed {
  query: Query
  rcode: number
}

class FormatError extends Error {}

/**
 * Reads a query. Returns `undefined` for what must not be answered at all: a
 * message shorter than a header, or a response (answering those would let
 * two servers bounce packets forever).
 *
 * @example
 * const parsed = parseQuery(bytes)
 * if (parsed?.rcode === RCODE.NOERROR) parsed.query.question?.name // 'www.example.test.'
 */
export function parseQuery(bytes: Uint8Array): Parsed | undefined {
  if (bytes.length < HEADER) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const flags = view.getUint16(2)
  if (flags & 0x8000) return undefined
  const query: Query = {
    id: view.getUint16(0),
    opcode: (flags >> 11) & 0xf,
    rd: (flags & 0x0100) !== 0,
    question: undefined,
    udpSize: undefined,
  }
  if (query.opcode !== 0) return { query, rcode: RCODE.NOTIMP }
  try {
    const [qd, an, ns, ar] = [4, 6, 8, 10].map((at) => view.getUint16(at))
    if (qd !== 1 || an !== 0 || ns !== 0) throw new FormatError('A query asks one question')
    const { end, ...name } = readName(bytes, HEADER)
    query.question = { ...name, type: u16(view, end), class: u16(view, end + 2) }
    const last = readAdditional(bytes, view, end + 4, ar!, query)
    if (last !== bytes.length) throw new FormatError('Bytes after the last record')
    return { query, rcode: RCODE.NOERROR }
  } catch (error) {
    if (!(error instanceof FormatError)) throw error
    query.question = undefined
    return { query, rcode: RCODE.FORMERR }
  }
}

/** Skips the additional records, noting an OPT record's UDP size. Returns where they end. */
function readAdditional(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  count: number,
  query: Query,
): number {
  let at = offset
  for (let i = 0; i < count; i++) {
    const { end, labels } = readName(bytes, at)
    const type = u16(view, end)
    const length = u16(view, end + 8)
    if (type === TYPE.OPT) {
      if (labels.length > 0 || query.udpSize !== undefined) throw new FormatError('Bad OPT record')
      query.udpSize = u16(view, end + 2)
    }
    at = end + 10 + length
    if (at > bytes.length) throw new FormatError('A record runs past the end')
  }
  return at
}

function u16(view: DataView, at: number): number {
  if (at + 2 > view.byteLength) throw new FormatError('The message ends early')
  return view.getUint16(at)
}

/**
 * Reads a name at `offset`, following compression pointers. A pointer must
 * point before the labels it interrupts, so every jump goes backwards and a
 * loop is impossible: a hostile pointer chain ends in a FORMERR, not a hang.
 */
function readName(
  bytes: Uint8Array,
  offset: number,
): Omit<Question, 'type' | 'class'> & { end: number } {
  const labels: Uint8Array[] = []
  let at = offset
  let segment = offset
  let end: number | undefined
  let length = 1
  for (;;) {
    const size = bytes[at]
    if (size === undefined) throw new FormatError('A name runs past the end')
    if (size === 0) break
    if ((size & 0xc0) === 0xc0) {
      const low = bytes[at + 1]
      if (low === undefined) throw new FormatError('A pointer runs past the end')
      const target = ((size & 0x3f) << 8) | low
      if (target >= segment) throw new FormatError('A pointer does not point backwards')
      end ??= at + 2
      at = segment = target
      continue
    }
    if (size & 0xc0) throw new FormatError('Unknown label type')
    length += size + 1
    if (length > 255 || at + 1 + size > bytes.length) throw new FormatError('Bad name length')
    labels.push(bytes.subarray(at + 1, at + 1 + size))
    at += 1 + size
  }
  return { labels, name: lookupName(labels), end: end ?? at + 1 }
}

/** Lower-case presentation form; bytes a zone name cannot hold are escaped so they never match. */
function lookupName(labels: Uint8Array[]): string {
  let name = ''
  for (const label of labels) {
    for (const byte of label) {
      const lower = byte >= 0x41 && byte <= 0x5a ? byte + 32 : byte
      const plain = lower > 0x20 && lower < 0x7f && lower !== 0x2e && lower !== 0x5c
      name += plain ? String.fromCharCode(lower) : `\\${String(lower).padStart(3, '0')}`
    }
    name += '.'
  }
  return name || '.'
}

export interface Response {
  query: Query
  rcode: number
  /** Authoritative answer: set for every answer from the zone. */
  aa: boolean
  answers: ZoneRecord[]
  authority: ZoneRecord[]
  additional: ZoneRecord[]
}

/** The UDP payload size this server offers in its OPT record (the DNS flag day 2020 value). */
export const EDNS_SIZE = 1232

/**
 * Writes a response. If it would be longer than `limit`, the records are left
 * out and the TC bit set, so the client asks again over TCP.
 *
 * @example
 * socket.write(encodeResponse(response, 512))
 */
export function encodeResponse(response: Response, limit: number): Uint8Array {
  const full = encode(response, false)
  if (full.length <= limit) return full
  return encode({ ...response, answers: [], authority: [], additional: [] }, true)
}

function encode(response: Response, truncated: boolean): Uint8Array {
  const { query, answers, authority, additional } = response
  const out = new Writer()
  const flags =
    0x8000 |
    (query.opcode << 11) |
    (response.aa ? 0x0400 : 0) |
    (truncated ? 0x0200 : 0) |
    (query.rd ? 0x0100 : 0) |
    response.rcode
  const edns = query.udpSize !== undefined ? 1 : 0
  const counts = [
    query.question ? 1 : 0,
    answers.length,
    authority.length,
    additional.length + edns,
  ]
  for (const value of [query.id, flags, ...counts]) out.u16(value)
  if (query.question) {
    out.name(query.question.labels)
    out.u16(query.question.type)
    out.u16(query.question.class)
  }
  for (const record of [...answers, ...authority, ...additional]) writeRecord(out, record)
  if (edns) {
    // OPT: the root name, type 41, class = our payload size, TTL 0 (version 0), no options.
    out.u8(0)
    out.u16(TYPE.OPT)
    out.u16(EDNS_SIZE)
    out.u32(0)
    out.u16(0)
  }
  return out.result()
}

function writeRecord(out: Writer, record: ZoneRecord): void {
  const { data } = record
  out.name(labelsOf(record.name))
  out.u16(TYPE[data.type])
  out.u16(CLASS_IN)
  out.u32(record.ttl)
  const start = out.length
  out.u16(0) // RDLENGTH, filled in below
  switch (data.type) {
    case 'A':
    case 'AAAA':
      out.bytes(data.address)
      break
    case 'CNAME':
    case 'NS':
      out.name(labelsOf(data.target))
      break
    case 'MX':
      out.u16(data.preference)
      out.name(labelsOf(data.exchange))
      break
    case 'TXT':
      for (const text of data.strings) {
        out.u8(text.length)
        out.bytes(text)
      }
      break
    case 'SOA':
      out.name(labelsOf(data.mname))
      out.name(labelsOf(data.rname))
      for (const value of data.numbers) out.u32(value)
      break
  }
  out.patch16(start, out.length - start - 2)
}

const encoder = new TextEncoder()

/** A zone name's labels: `www.example.test.` → [www, example, test]. */
function labelsOf(name: string): Uint8Array[] {
  return name === '.'
    ? []
    : name
        .slice(0, -1)
        .split('.')
        .map((label) => encoder.encode(label))
}
