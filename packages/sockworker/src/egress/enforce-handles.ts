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
import type { EgressHooks } from './hooks.ts'
import type { EgressPolicy } from './policy.ts'
import { lockMethod, type RawPrototype, rawHandlePrototypes } from './raw-handles.ts'

/** Whether the layer above already passed this address for this socket (a name rule, a UDP reply). */
type Passed = (socket: unknown, address: string, port: number) => boolean

/**
 * Guards `connect`/`connect6` of TCP handles and `send`/`send6`/`connect`/
 * `connect6` of UDP handles. What the `net`/`dgram` layer passed for the
 * handle's socket passes here too: an address a name rule allowed, or a
 * reply to a UDP peer. `connect` of Pipe handles
 * (Unix sockets) is refused, as `net.connect({ path })` is.
 *
 * @example
 * guardHandles(policy, hooks, passed) // once, before the worker's code loads
 */
export function guardHandles(policy: EgressPolicy, hooks: EgressHooks, passed: Passed): void {
  const deny = (address: string, port: number, owner: unknown): string | undefined => {
    if (passed(owner, address, port)) return undefined
    const verdict = policy.checkAddress(address, port)
    if (verdict.allowed) return undefined
    hooks.onDeny(verdict.reason)
    return verdict.reason
  }
  const { tcp, udp, pipe } = rawHandlePrototypes()
  // connect(req, address, port)
  for (const name of ['connect', 'connect6']) guard(tcp, name, 1, 2, deny)
  // send(req, buffers, count, port, address, hasCallback); connected sockets omit port and address
  for (const name of ['send', 'send6']) guard(udp, name, 4, 3, deny)
  // connect(address, port)
  for (const name of ['connect', 'connect6']) guard(udp, name, 0, 1, deny)
  // connect(req, path)
  lockMethod(
    pipe,
    'connect',
    () =>
      function refused(this: object, ...args: unknown[]) {
        const reason = `Egress to the local socket "${String(args[1])}" denied: workers connect over TCP and UDP only`
        hooks.onDeny(reason)
        throw Object.assign(new Error(reason), { code: 'ERR_EGRESS_DENIED' })
      },
  )
}

function guard(
  proto: RawPrototype,
  name: string,
  addressAt: number,
  portAt: number,
  deny: (address: string, port: number, owner: unknown) => string | undefined,
): void {
  lockMethod(
    proto,
    name,
    (original) =>
      function guarded(this: object, ...args: unknown[]) {
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
      },
  )
}

/** The `dgram.Socket` or `net.Socket` a handle belongs to (Node keeps it under an internal symbol). */
function ownerOf(handle: object): unknown {
  const symbol = Object.getOwnPropertySymbols(handle).find((s) => s.description === 'owner_symbol')
  return symbol === undefined ? undefined : (handle as Record<symbol, unknown>)[symbol]
}
