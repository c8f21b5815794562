/**
 * A zone file reader: the RFC 1035 master-file subset a small authoritative
 * server needs. `$ORIGIN`, `$TTL`, `@`, relative names, a blank owner (the
 * previous one), `;` comments, `( … )` across lines and quoted TXT strings;
 * records of type A, AAAA, CNAME, MX, TXT, NS and SOA in class IN.
 */

export type RecordType = 'A' | 'AAAA' | 'CNAME' | 'MX' | 'TXT' | 'NS' | 'SOA'

/** What a record holds, checked when the zone is read so answering cannot fail. */
export type RecordData =
  | { type: 'A' | 'AAAA'; address: Uint8Array }
  | { type: 'CNAME' | 'NS'; target: string }
  | { type: 'MX'; preference: number; exchange: string }
  | { type: 'TXT'; strings: Uint8Array[] }
  | { type: 'SOA'; mname: string; rname: string; numbers: number[] }

export interface ZoneRecord {
  /** Lower case, fully qualified, with the trailing dot: `www.example.test.` */
  name: string
  ttl: number
  data: RecordData
}

export interface Zone {
  /** Lower case with the trailing dot: `example.test.` */
  origin: string
  soa: ZoneRecord
  /** Every record by owner name. */
  records: Map<string, ZoneRecord[]>
}

const TYPES = new Set<string>(['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SOA'])
const encoder = new TextEncoder()

/**
 * Reads a zone file's text. Throws on the first mistake, naming the line.
 *
 * @example
 * const zone = parseZone('$ORIGIN example.test.\n@ 3600 IN SOA ns1 admin 1 7200 900 1209600 300\n')
 * zone.records.get('example.test.') // [{ name: 'example.test.', ttl: 3600, data: { type: 'SOA', … } }]
 */
export function parseZone(text: string, source = 'zone file'): Zone {
  let origin: string | undefined
  let defaultTtl: number | undefined
  let lastTtl: number | undefined
  let owner: string | undefined
  const records = new Map<string, ZoneRecord[]>()
  for (const { line, tokens, indented } of logicalLines(text, source)) {
    const fail = (message: string): never => {
      throw new Error(`${source} line ${line}: ${message}`)
    }
    try {
      const first = tokens[0]!
      if (first === '$ORIGIN') {
        origin = absoluteName(
          tokens[1] ?? fail('$ORIGIN needs a name, as in "$ORIGIN example.test."'),
        )
        if (!origin.endsWith('.')) fail(`$ORIGIN "${tokens[1]}" must end with a dot`)
        continue
      }
      if (first === '$TTL') {
        defaultTtl = ttlValue(tokens[1] ?? '') ?? fail('$TTL needs a number of seconds')
        continue
      }
      if (first.startsWith('$')) fail(`"${first}" is not supported: use $ORIGIN or $TTL`)
      if (origin === undefined) fail('a record comes before $ORIGIN: put "$ORIGIN name." first')
      const rest = indented ? tokens : tokens.slice(1)
      if (!indented) owner = qualify(first, origin!)
      if (owner === undefined) fail('the first record needs an owner name')
      // No TTL: $TTL, or else the last one stated (RFC 1035 section 5.1).
      const record = parseRecord(owner!, rest, origin!, defaultTtl ?? lastTtl)
      lastTtl = record.ttl
      const list = records.get(record.name) ?? []
      list.push(record)
      records.set(record.name, list)
    } catch (error) {
      if (error instanceof Error && error.message.startsWith(source)) throw error
      fail(error instanceof Error ? error.message : String(error))
    }
  }
  return checkZone(origin, records, source)
}

function checkZone(
  origin: string | undefined,
  records: Map<string, ZoneRecord[]>,
  source: string,
): Zone {
  if (origin === undefined) throw new Error(`${source}: no $ORIGIN: start it with "$ORIGIN name."`)
  const soa = records.get(origin)?.find((record) => record.data.type === 'SOA')
  if (soa === undefined) throw new Error(`${source}: no SOA record at the origin "${origin}"`)
  for (const [name, list] of records) {
    if (name !== origin && !name.endsWith(`.${origin}`)) {
      throw new Error(`${source}: "${name}" is outside the zone "${origin}"`)
    }
    if (list.some((record) => record.data.type === 'CNAME') && list.length > 1) {
      throw new Error(`${source}: "${name}" has a CNAME and other records: a CNAME stands alone`)
    }
  }
  return { origin, soa, records }
}

/** `[ttl] [IN] TYPE rdata…` (TTL and class in either order), after the owner. */
function parseRecord(
  name: string,
  tokens: string[],
  origin: string,
  defaultTtl: number | undefined,
): ZoneRecord {
  let ttl: number | undefined
  let index = 0
  for (; index < 2; index++) {
    const token = tokens[index]?.toUpperCase()
    if (token === 'IN') continue
    const value = ttlValue(token ?? '')
    if (value === undefined) break
    ttl = value
  }
  const type = tokens[index]?.toUpperCase() ?? ''
  if (!TYPES.has(type)) {
    throw new Error(`unknown type "${tokens[index] ?? ''}": use A, AAAA, CNAME, MX, TXT, NS or SOA`)
  }
  const data = parseData(type as RecordType, tokens.slice(index + 1), origin)
  ttl ??= defaultTtl ?? (data.type === 'SOA' ? data.numbers[4] : undefined)
  if (ttl === undefined) throw new Error('the record has no TTL: give one, or set $TTL')
  return { name, ttl, data }
}

function parseData(type: RecordType, args: string[], origin: string): RecordData {
  const need = (count: number) => {
    if (args.length !== count) {
      throw new Error(`${type} takes ${count} value(s), not ${args.length}: "${args.join(' ')}"`)
    }
  }
  switch (type) {
    case 'A':
    case 'AAAA':
      need(1)
      return { type, address: parseAddress(type, args[0]!) }
    case 'CNAME':
    case 'NS':
      need(1)
      return { type, target: qualify(args[0]!, origin) }
    case 'MX': {
      need(2)
      const preference = integer(args[0]!, 0xffff, 'MX preference')
      return { type, preference, exchange: qualify(args[1]!, origin) }
    }
    case 'TXT':
      if (args.length === 0) throw new Error('TXT needs at least one string')
      return { type, strings: args.map(txtString) }
    case 'SOA': {
      need(7)
      const numbers = args.slice(2).map((arg) => ttlValue(arg) ?? integer(arg, 0xffffffff, 'SOA'))
      return { type, mname: qualify(args[0]!, origin), rname: qualify(args[1]!, origin), numbers }
    }
  }
}

function parseAddress(type: 'A' | 'AAAA', text: string): Uint8Array {
  const bytes = type === 'A' ? ipv4(text) : ipv6(text)
  if (bytes === undefined)
    throw new Error(`"${text}" is not an ${type === 'A' ? 'IPv4' : 'IPv6'} address`)
  return bytes
}

function ipv4(text: string): Uint8Array | undefined {
  const parts = text.split('.')
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) < 256)) {
    return undefined
  }
  return Uint8Array.from(parts.map(Number))
}

/** `2001:db8::1` and friends; the dotted-quad tail form is not accepted. */
function ipv6(text: string): Uint8Array | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (part: string) => (part === '' ? [] : part.split(':'))
  const left = groups(halves[0]!)
  const right = halves.length === 2 ? groups(halves[1]!) : []
  const missing = 8 - left.length - right.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const all = [...left, ...Array<string>(missing).fill('0'), ...right]
  if (!all.every((group) => /^[\da-f]{1,4}$/i.test(group))) return undefined
  const bytes = new Uint8Array(16)
  all.forEach((group, i) => {
    const value = Number.parseInt(group, 16)
    bytes[i * 2] = value >> 8
    bytes[i * 2 + 1] = value & 0xff
  })
  return bytes
}

function txtString(text: string): Uint8Array {
  const bytes = encoder.encode(text)
  if (bytes.length > 255) throw new Error(`a TXT string is ${bytes.length} bytes: split it at 255`)
  return bytes
}

function integer(text: string, max: number, what: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!(value <= max)) throw new Error(`${what} "${text}" is not a number from 0 to ${max}`)
  return value
}

/** Seconds, or with units as BIND writes them: `3600`, `1h`, `1d12h`. */
function ttlValue(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) <= 0x7fffffff ? Number(text) : undefined
  if (!/^(\d+[smhdw])+$/i.test(text)) return undefined
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }
  let total = 0
  for (const [, count, u] of text.toLowerCase().matchAll(/(\d+)([smhdw])/g)) {
    total += Number(count) * (unit[u!] ?? 0)
  }
  return total
}

/** A name as written in the file, made absolute against the origin. */
function qualify(name: string, origin: string): string {
  if (name === '@') return origin
  return absoluteName(name.endsWith('.') ? name : `${name}.${origin}`)
}

function absoluteName(name: string): string {
  const lower = name.toLowerCase()
  const labels = lower === '.' ? [] : lower.replace(/\.$/, '').split('.')
  if (labels.some((label) => label.length === 0 || label.length > 63)) {
    throw new Error(`"${name}" has an empty label or one longer than 63 bytes`)
  }
  if (encoder.encode(lower).length > 254) throw new Error(`"${name}" is longer than 255 bytes`)
  return lower.endsWith('.') ? lower : `${lower}.`
}

interface LogicalLine {
  line: number
  tokens: string[]
  /** The line began with white space: its owner is the previous record's. */
  indented: boolean
}

/** Splits the text into entries: comments dropped, `( … )` joined, quotes kept whole. */
function* logicalLines(text: string, source: string): Generator<LogicalLine> {
  let current: LogicalLine | undefined
  let depth = 0
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = index + 1
    if (depth === 0) current = { line, tokens: [], indented: /^[ \t]/.test(raw) }
    for (const token of tokenize(raw, `${source} line ${line}`)) {
      if (token === OPEN) depth++
      else if (token === CLOSE) depth--
      else if (typeof token === 'string') current!.tokens.push(token)
      if (depth < 0) throw new Error(`${source} line ${line}: ")" without "("`)
    }
    if (depth === 0 && current!.tokens.length > 0) yield current!
  }
  if (depth > 0) throw new Error(`${source} line ${current?.line}: "(" is never closed`)
}

// Parentheses are symbols, so that a quoted "(" in a TXT string stays text.
const OPEN = Symbol('(')
const CLOSE = Symbol(')')

/** One physical line's tokens: words, `"quoted strings"` (with `\"` and `\\`), `(` and `)`. */
function tokenize(raw: string, where: string): Array<string | symbol> {
  const tokens: Array<string | symbol> = []
  const pattern = /\s*(?:(;.*)|"((?:[^"\\]|\\.)*)("?)|([()])|([^\s;()"]+))/gy
  for (const match of raw.matchAll(pattern)) {
    const [, comment, quoted, closed, paren, word] = match
    if (comment !== undefined) break
    if (quoted !== undefined) {
      if (closed !== '"') throw new Error(`${where}: a quoted string is not closed`)
      tokens.push(quoted.replace(/\\(.)/g, '$1'))
    } else if (paren !== undefined) tokens.push(paren === '(' ? OPEN : CLOSE)
    else if (word !== undefined) tokens.push(word)
  }
  return tokens
}
