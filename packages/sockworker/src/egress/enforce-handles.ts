/**
 * The egress policy at the lowest layer JavaScript reaches: the methods of
 * libuv's TCP and UDP handles. `enforce.ts` checks at `net.Socket` and
 * `dgram.Socket`, where names are resolved and errors are friendly; this
 * catches code that skips them by calling a raw handle itself, as in
 *
 *   const TCP = server._handle.constructor
 *   new TCP(0).connect(req, '10.0.0.1', 22)
 *
 * Every address here is already numeric, so the check is synchronous. The
 * guarded methods are non-writable and non-configurable: a worker cannot
 * put the originals back, and has no other reference to them.
 */
import * as dgram from 'node:dgram'
import * as net from 'node:net'
import type { EgressHooks } from './enforce.ts'
import type { EgressPolicy } from './policy.ts'

type RawMethod = (this: object, ...args: unknown[]) => unknown
type IsReply = (socket: dgram.Socket, address: string, port: number) => boolean

/**
 * Guards `connect`/`connect6` of TCP handles and `send`/`send6`/`connect`/
 * `connect6` of UDP handles. A UDP datagram to a peer that wrote to the
 * socket is a reply, as at the `dgram` layer.
 *
 * @example
 * guardHandles(policy, hooks, isReply) // once, before the worker's code loads
 */
export function guardHandles(policy: EgressPolicy, hooks: EgressHooks, isReply: IsReply): void {
  const deny = (address: string, port: number, owner: unknown): string | undefined => {
    if (owner instanceof dgram.Socket && isReply(owner, address, port)) return undefined
    const verdict = policy.checkAddress(address, port)
    if (verdict.allowed) return undefined
    hooks.onDeny(verdict.reason)
    return verdict.reason
  }
  const tcp = Object.getPrototypeOf(tcpHandle()) as Record<string, RawMethod>
  // connect(req, address, port)
  for (const name of ['connect', 'connect6']) guard(tcp, name, 1, 2, deny)
  const udp = Object.getPrototypeOf(udpHandle()) as Record<string, RawMethod>
  // send(req, buffers, count, port, address, hasCallback); connected sockets omit port and address
  for (const name of ['send', 'send6']) guard(udp, name, 4, 3, deny)
  // connect(address, port)
  for (const name of ['connect', 'connect6']) guard(udp, name, 0, 1, deny)
}

function guard(
  proto: Record<string, RawMethod>,
  name: string,
  addressAt: number,
  portAt: number,
  deny: (address: string, port: number, owner: unknown) => string | undefined,
): void {
  const original = proto[name]
  if (typeof original !== 'function') throw new Error(`The raw handle has no ${name}()`)
  const guarded = function (this: object, ...args: unknown[]) {
    const address = args[addressAt]
    const port = args[portAt]
    if (typeof address === 'string' && typeof port === 'number') {
      const reason = deny(address, port, ownerOf(this))
      if (reason !== undefined)
        throw Object.assign(new Error(reason), { code: 'ERR_EGRESS_DENIED' })
    } else if (name.startsWith('connect')) {
      throw new TypeError(`${name}() on a raw handle needs an address and a port`)
    }
    return original.apply(this, args)
  }
  Object.defineProperty(proto, name, { value: guarded, writable: false, configurable: false })
}

/** The `dgram.Socket` or `net.Socket` a handle belongs to (Node keeps it under an internal symbol). */
function ownerOf(handle: object): unknown {
  const symbol = Object.getOwnPropertySymbols(handle).find((s) => s.description === 'owner_symbol')
  return symbol === undefined ? undefined : (handle as Record<symbol, unknown>)[symbol]
}

/**
 * A TCP handle, without touching the network: `connect()` creates the
 * socket's handle before it validates the port, then throws.
 */
function tcpHandle(): object {
  const probe = new net.Socket()
  try {
    probe.connect({ port: -1, host: '127.0.0.1' })
  } catch {
    // ERR_SOCKET_BAD_PORT, as intended
  }
  const handle = (probe as unknown as { _handle: object | null })._handle
  probe.destroy()
  if (handle === null) throw new Error('Cannot reach the TCP handle type to guard it')
  return handle
}

/** A UDP handle: `dgram.createSocket()` makes one at once, kept under an internal symbol. */
function udpHandle(): object {
  const socket = dgram.createSocket('udp4')
  const state = Object.getOwnPropertySymbols(socket)
    .map((symbol) => (socket as unknown as Record<symbol, unknown>)[symbol])
    .find(
      (value): value is { handle: object } =>
        typeof value === 'object' && value !== null && 'handle' in value,
    )
  const handle = state?.handle
  socket.close()
  if (handle === undefined) throw new Error('Cannot reach the UDP handle type to guard it')
  return handle
}
