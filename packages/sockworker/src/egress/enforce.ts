/**
 * Applies the egress policy to every outbound connection of a replica, at
 * the one place they all pass: `net.Socket.prototype.connect` (used by our
 * socket API, `node:net`, `node:tls` and every driver on them) and the
 * `connect`/`send` of `dgram.Socket`. Installed before the worker's code
 * loads, and only once, so a worker cannot route around it.
 *
 * Host names are resolved here and the connection goes to the address that
 * passed the check (pinning), so a DNS answer that changes between the check
 * and the connect (rebinding) cannot reach a denied address.
 */
import * as dgram from 'node:dgram'
import * as net from 'node:net'
import { guardDnsServers } from './enforce-dns.ts'
import { guardHandles } from './enforce-handles.ts'
import type { EgressHooks } from './hooks.ts'
import { EgressPolicy } from './policy.ts'
import { type RuntimeSocketFactory, runtimeSocketFactory } from './runtime-socket.ts'

let installed = false

/**
 * Installs the guard. Returns the one way past it: a factory for the
 * runtime's own connections (storage bindings), for the caller to keep and
 * hand only to runtime code (see runtime-socket.ts).
 */
export function installEgressGuard(
  rules: { allow: string[]; deny: string[] },
  hooks: EgressHooks,
): { runtimeSocket: RuntimeSocketFactory } {
  if (installed) throw new Error('The egress guard is already installed')
  installed = true
  const policy = EgressPolicy.parse(rules)
  // The runtime's own connections (storage bindings) pass every layer.
  const runtimeSockets = new WeakSet<object>()
  // First: it takes a TCP handle from a connect() that must not be guarded yet.
  guardHandles(
    policy,
    hooks,
    (socket, address, port) =>
      (socket !== undefined && socket !== null && runtimeSockets.has(socket)) ||
      isApproved(socket, address, port) ||
      (socket instanceof dgram.Socket && isReply(socket, address, port)),
  )
  const unguarded = guardTcp(policy, hooks)
  guardUdp(policy, hooks)
  guardDnsServers(policy, hooks)
  return { runtimeSocket: runtimeSocketFactory(unguarded, (socket) => runtimeSockets.add(socket)) }
}

/** An `ERR_EGRESS_DENIED` error with the policy's reason. */
export function denial(reason: string): Error {
  return Object.assign(new Error(reason), { code: 'ERR_EGRESS_DENIED' })
}

type ConnectOptions = { host?: string; port?: number | string; path?: string; lookup?: unknown }

/** Guards TCP; returns the original, unguarded `connect`. */
function guardTcp(
  policy: EgressPolicy,
  hooks: EgressHooks,
): (this: net.Socket, ...args: unknown[]) => net.Socket {
  const original = net.Socket.prototype.connect
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    // net.connect() passes one pre-normalised array; direct calls pass
    // (options[, cb]), (port[, host][, cb]) or (path[, cb]).
    const normalized = Array.isArray(args[0]) ? (args[0] as unknown[]) : undefined
    const options = (normalized?.[0] ?? toOptions(args)) as ConnectOptions
    const deny = (reason: string) => {
      hooks.onDeny(reason)
      process.nextTick(() => this.destroy(denial(reason)))
      return this
    }
    if (options.path !== undefined) {
      return deny(
        `Egress to the local socket "${options.path}" denied: workers connect over TCP and UDP only`,
      )
    }
    const host = options.host ?? 'localhost'
    const port = Number(options.port)
    if (net.isIP(host)) {
      const verdict = policy.checkAddress(host, port)
      if (!verdict.allowed) return deny(verdict.reason)
    } else {
      options.lookup = guardedLookup(policy, port, hooks, this)
    }
    const forward =
      normalized ??
      (args[0] !== null && typeof args[0] === 'object' ? args : [options, ...callbackOf(args)])
    return (original as (...a: unknown[]) => net.Socket).apply(this, forward)
  } as typeof original
  return original as (this: net.Socket, ...args: unknown[]) => net.Socket
}

function toOptions(args: unknown[]): ConnectOptions {
  const [first, second] = args
  if (first !== null && typeof first === 'object') return first as ConnectOptions
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { path: first }
  return { port: first as number, ...(typeof second === 'string' ? { host: second } : {}) }
}

function callbackOf(args: unknown[]): unknown[] {
  const last = args.at(-1)
  return typeof last === 'function' ? [last] : []
}

/**
 * Addresses the policy passed for a host name, by socket. A name rule
 * (`db.internal:5432`) may pass an address that no rule names; the raw
 * handle check below this layer (`enforce-handles.ts`) sees only the
 * address, so it asks here before it asks the policy.
 */
const approved = new WeakMap<object, Set<string>>()

function approve(socket: object, address: string, port: number): void {
  let addresses = approved.get(socket)
  if (addresses === undefined) approved.set(socket, (addresses = new Set()))
  addresses.add(`${address}|${port}`)
}

function isApproved(socket: unknown, address: string, port: number): boolean {
  return (
    typeof socket === 'object' &&
    socket !== null &&
    approved.get(socket)?.has(`${address}|${port}`) === true
  )
}

/** The policy's `dns.lookup`-shaped resolver, reporting each denial to `hooks` and each pass to `approve`. */
function guardedLookup(policy: EgressPolicy, port: number, hooks: EgressHooks, socket: object) {
  const lookup = policy.lookupFor(port)
  return (
    hostname: string,
    options: object,
    callback: (error: Error | null, ...rest: unknown[]) => void,
  ) =>
    lookup(
      hostname,
      options as never,
      ((error: Error | null, ...rest: unknown[]) => {
        if ((error as { code?: string } | null)?.code === 'ERR_EGRESS_DENIED')
          hooks.onDeny(error!.message)
        if (error === null) {
          const [answer] = rest
          const answers = Array.isArray(answer) ? answer : [{ address: answer }]
          for (const { address } of answers as Array<{ address: string }>)
            approve(socket, address, port)
        }
        callback(error, ...rest)
      }) as never,
    )
}

/**
 * Replies are not egress. Like a stateful firewall, a UDP socket may answer
 * any peer that sent it a datagram recently: that is how a UDP listener's
 * flows reply. The memory is kept per local address and port, not per
 * socket object, so that a QUIC listener's per-connection socket (bound to
 * the listener's port and connected to the client: see the Node adapter's
 * quic/own-socket.ts) may connect to the client that the listener heard
 * from. Other destinations go through the policy.
 */
const maxRepliable = 65_536
/** Peers heard from, by local `address|port`, with how many open sockets share that end. */
const repliable = new Map<string, { peers: Set<string>; sockets: number }>()
/** The local end each socket that heard from a peer was counted under. */
const localKeys = new WeakMap<dgram.Socket, string>()

/** `address|port` of the socket's own end, or undefined while it is unbound. */
function localEnd(socket: dgram.Socket): string | undefined {
  try {
    const { address, port } = socket.address()
    return `${address}|${port}`
  } catch {
    return undefined
  }
}

function rememberPeer(socket: dgram.Socket, address: string, port: number): void {
  let local = localKeys.get(socket)
  if (local === undefined) {
    local = localEnd(socket)
    if (local === undefined) return
    localKeys.set(socket, local)
    const entry = repliable.get(local) ?? { peers: new Set<string>(), sockets: 0 }
    entry.sockets++
    repliable.set(local, entry)
  }
  const peers = repliable.get(local)!.peers
  const key = `${address}|${port}`
  // This runs for every datagram, so a known peer costs one lookup. Past the
  // cap the oldest peers are forgotten first (a UDP listener rarely has 64 Ki).
  if (peers.has(key)) return
  peers.add(key)
  if (peers.size > maxRepliable) forgetOldest(peers)
}

/**
 * Forgets the oldest sixteenth, in one pass: a flood of new sources keeps
 * the set at its cap, and one iterator per datagram to forget one peer was
 * a measurable share of what each flooding datagram cost.
 */
function forgetOldest(peers: Set<string>): void {
  let left = maxRepliable / 16
  for (const peer of peers) {
    if (left-- === 0) return
    peers.delete(peer)
  }
}

/** A closed socket's end is forgotten with the last socket that shared it. */
function forgetSocket(socket: dgram.Socket): void {
  const local = localKeys.get(socket)
  if (local === undefined) return
  localKeys.delete(socket)
  const entry = repliable.get(local)
  if (entry !== undefined && --entry.sockets === 0) repliable.delete(local)
}

/** Whether `socket`'s end received a datagram from `address:port` recently, so may answer it. */
function isReply(socket: dgram.Socket, address: string, port: number): boolean {
  const local = localKeys.get(socket) ?? localEnd(socket)
  return local !== undefined && repliable.get(local)?.peers.has(`${address}|${port}`) === true
}

function guardUdp(policy: EgressPolicy, hooks: EgressHooks): void {
  const proto = dgram.Socket.prototype
  const originalConnect = proto.connect
  const originalSend = proto.send
  const originalEmit = proto.emit
  // `arguments` rather than rest and spread: this runs for every datagram
  // received, and a flood's datagrams should not cost two arrays each.
  proto.emit = function rememberingEmit(this: dgram.Socket, event: string | symbol) {
    if (event === 'message') {
      // biome-ignore lint/complexity/noArguments: see above
      const rinfo = arguments[2] as { address: string; port: number }
      rememberPeer(this, rinfo.address, rinfo.port)
    } else if (event === 'close') forgetSocket(this)
    // biome-ignore lint/complexity/noArguments: see above
    return Reflect.apply(originalEmit, this, arguments) as boolean
  } as typeof proto.emit
  /** Checks `host:port`, then calls `proceed` with the address to use, or fails `callback`. */
  const vet = (
    socket: dgram.Socket,
    host: string,
    port: number,
    proceed: (address: string) => void,
    fail: (e: Error) => void,
  ) => {
    if (net.isIP(host)) {
      const verdict = policy.checkAddress(host, port)
      if (verdict.allowed) return proceed(host)
      hooks.onDeny(verdict.reason)
      return fail(denial(verdict.reason))
    }
    policy.check(host, port).then((verdict) => {
      if (verdict.allowed) {
        approve(socket, verdict.address, port)
        return proceed(verdict.address)
      }
      hooks.onDeny(verdict.reason)
      fail(denial(verdict.reason))
    }, fail)
  }
  proto.connect = function guardedConnect(this: dgram.Socket, port: number, ...rest: unknown[]) {
    const host = typeof rest[0] === 'string' ? rest[0] : 'localhost'
    const callback = rest.find((r) => typeof r === 'function') as ((e?: Error) => void) | undefined
    if (isReply(this, host, port)) {
      return (originalConnect as (...a: unknown[]) => void).call(this, port, host, callback)
    }
    vet(
      this,
      host,
      port,
      (address) =>
        (originalConnect as (...a: unknown[]) => void).call(this, port, address, callback),
      (error) => (callback ? callback(error) : this.emit('error', error)),
    )
  } as unknown as typeof proto.connect
  proto.send = function guardedSend(this: dgram.Socket, ...args: unknown[]) {
    const target = sendTarget(args)
    const reply = target !== undefined && isReply(this, target.host, target.port)
    if (target === undefined || reply)
      return (originalSend as (...a: unknown[]) => void).apply(this, args)
    const callback = args.find((a) => typeof a === 'function') as
      | ((e: Error | null) => void)
      | undefined
    vet(
      this,
      target.host,
      target.port,
      (address) => {
        args[target.hostIndex] = address
        ;(originalSend as (...a: unknown[]) => void).apply(this, args)
      },
      (error) => (callback ? callback(error) : this.emit('error', error)),
    )
  } as typeof proto.send
}

/** Where a `send()` goes: `(msg, port, host)` or `(msg, offset, length, port, host)`; none on a connected socket. */
function sendTarget(
  args: unknown[],
): { host: string; port: number; hostIndex: number } | undefined {
  const withOffset =
    typeof args[1] === 'number' && typeof args[2] === 'number' && typeof args[3] === 'number'
  const portIndex = withOffset ? 3 : 1
  const port = args[portIndex]
  if (typeof port !== 'number') return undefined
  const hostIndex = portIndex + 1
  const host = args[hostIndex]
  if (typeof host === 'string') return { host, port, hostIndex }
  // No host given: Node sends to localhost. Make that explicit so it is vetted.
  if (typeof host === 'function') args.splice(hostIndex, 0, 'localhost')
  else args[hostIndex] = 'localhost'
  return { host: 'localhost', port, hostIndex }
}
