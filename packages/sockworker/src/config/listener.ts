/**
 * The `[[workers.listeners]]` schema: which keys each listener type takes,
 * and the check that no two listeners in the file bind the same address.
 */
import { type ListenAddress, listenAddress, overlaps } from './address.ts'
import { array, object, record } from './containers.ts'
import type { FileRef } from './files.ts'
import {
  certificateFile,
  checkKeyPair,
  privateKeyFile,
  SNI_HOST,
  SNI_HOST_EXPECTED,
  sniEntry,
} from './tls.ts'
import type { ListenerType } from './types.ts'
import {
  boolean,
  type Checked,
  type Context,
  formatPath,
  INVALID,
  integer,
  oneOf,
  optional,
  type Path,
  pipe,
  type Schema,
  string,
} from './validate.ts'

/** The longest delay a Node.js timer can take; longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647

/** A listener as validated, before files are turned into PEM text. */
export interface CheckedListener {
  type: ListenerType
  address: ListenAddress
  cert?: FileRef
  key?: FileRef
  sni?: Record<string, { cert: FileRef; key: FileRef }>
  alpn?: string[]
  proxy_protocol?: 'off' | 'v1' | 'v2' | 'any'
  idle_timeout_ms?: number
  max_flows?: number
  new_flows_per_second?: number
  allow_half_open?: boolean
}

/**
 * Every address bound so far in one config file, so that a second listener
 * on the same TCP or UDP address is reported where it appears. `tcp`, `tls`,
 * `http` and the metrics endpoint all take a TCP port, so they can clash.
 */
export class Bindings {
  #seen: { path: Path; transport: 'tcp' | 'udp'; type: string; address: ListenAddress }[] = []

  /** Records a bind; returns a message if it clashes with an earlier one. */
  add(path: Path, type: string, address: ListenAddress): string | undefined {
    const transport = type === 'udp' || type === 'quic' ? 'udp' : 'tcp'
    const clash = this.#seen.find((b) => b.transport === transport && overlaps(b.address, address))
    this.#seen.push({ path, transport, type, address })
    if (clash === undefined) return undefined
    return (
      `${type} ${show(address)} overlaps ${clash.type} ${show(clash.address)} at ` +
      `${formatPath(clash.path)}; two listeners cannot share a ${transport.toUpperCase()} address`
    )
  }
}

function show(address: ListenAddress): string {
  const host = address.hostname.includes(':') ? `[${address.hostname}]` : address.hostname
  return `"${host}:${address.port}"`
}

/**
 * The schema of one listener; files are relative to `dir`.
 *
 * @example
 * array(listenerSchema('/srv/app', new Bindings()))
 */
export function listenerSchema(dir: string, bindings: Bindings): Schema<CheckedListener> {
  const keys = object({
    type: oneOf(['tcp', 'tls', 'udp', 'quic', 'http']),
    address: listenAddress(),
    cert: optional(certificateFile(dir)),
    key: optional(privateKeyFile(dir)),
    sni: optional(record(sniEntry(dir), { key: SNI_HOST, keyExpected: SNI_HOST_EXPECTED })),
    alpn: optional(array(string({ expected: 'a protocol name such as "h2" or "smtp"' }))),
    proxy_protocol: optional(oneOf(['off', 'v1', 'v2', 'any'])),
    idle_timeout_ms: optional(integer(1, MAX_TIMER_MS)),
    max_flows: optional(integer(1, 1_000_000)),
    new_flows_per_second: optional(integer(1, 1_000_000)),
    allow_half_open: optional(boolean()),
  })
  return pipe(keys, (listener, path, ctx): Checked<CheckedListener> => {
    const clash = bindings.add([...path, 'address'], listener.type, listener.address)
    if (clash !== undefined) ctx.report([...path, 'address'], clash)
    let ok = clash === undefined
    ok = checkTypeKeys(listener, path, ctx) && ok
    ok = checkTls(listener, path, ctx) && ok
    return ok ? listener : INVALID
  })
}

/** Reports keys that the listener's type does not take. */
function checkTypeKeys(listener: CheckedListener, path: Path, ctx: Context): boolean {
  const { type } = listener
  const rules: [keyof CheckedListener, boolean, string][] = [
    [
      'cert',
      type === 'tcp' || type === 'tls' || type === 'quic',
      'only tls, quic and tcp (for StartTLS) use certificates',
    ],
    [
      'key',
      type === 'tcp' || type === 'tls' || type === 'quic',
      'only tls, quic and tcp (for StartTLS) use certificates',
    ],
    [
      'sni',
      type === 'tcp' || type === 'tls',
      'only tls and tcp (for StartTLS) choose certificates by SNI',
    ],
    ['alpn', type === 'tls' || type === 'quic', 'only tls and quic listeners negotiate ALPN'],
    ['proxy_protocol', type === 'tcp' || type === 'tls', 'only tcp and tls take PROXY protocol'],
    [
      'allow_half_open',
      type === 'tcp' || type === 'tls',
      'only tcp and tls connections half-close',
    ],
    [
      'idle_timeout_ms',
      type === 'udp',
      'it is the UDP flow timeout; set [workers.limits] idle_timeout_ms for connections',
    ],
    [
      'max_flows',
      type === 'udp',
      'it caps UDP flows; set [workers.limits] max_connections for connections',
    ],
    [
      'new_flows_per_second',
      type === 'udp',
      'it limits how fast UDP flows open; set [workers.limits] max_connections for connections',
    ],
  ]
  let ok = true
  for (const [key, allowed, why] of rules) {
    if (allowed || listener[key] === undefined) continue
    ok = false
    ctx.report([...path, key], `not allowed for "${type}" listeners; ${why}`)
  }
  return ok
}

/** Checks that certificates come with keys, and that a tls listener has one. */
function checkTls(listener: CheckedListener, path: Path, ctx: Context): boolean {
  if (listener.type !== 'tcp' && listener.type !== 'tls' && listener.type !== 'quic') return true
  const { cert, key, sni } = listener
  let missing: [string, string] | undefined
  if (listener.type === 'quic' && cert === undefined) {
    missing = ['cert', 'a quic listener needs cert and key (QUIC is always TLS)']
  } else if (listener.type === 'quic' && (listener.alpn ?? []).length === 0) {
    missing = ['alpn', 'a quic listener needs alpn = ["your-protocol"] (QUIC requires ALPN)']
  } else if (cert !== undefined && key === undefined) missing = ['key', 'cert needs its key']
  else if (key !== undefined && cert === undefined) missing = ['cert', 'key needs its cert']
  else if (listener.type === 'tls' && cert === undefined && Object.keys(sni ?? {}).length === 0) {
    missing = ['cert', 'a tls listener needs cert and key, or sni entries']
  }
  if (missing !== undefined) {
    ctx.report([...path, missing[0]], `required key is missing; ${missing[1]}`)
    return false
  }
  if (cert !== undefined && key !== undefined) checkKeyPair(ctx, cert, key, [...path, 'key'])
  return true
}
