/**
 * The runtime's own outbound connections (a storage binding's Redis or
 * PostgreSQL) are not the worker's egress: the operator configured them.
 * They get past the guard through a capability, not a flag: the guard hands
 * `installEgressGuard`'s caller a factory that closes over the unguarded
 * `connect`. Nothing exports it, so worker code (which may import any of our
 * modules) cannot reach it; it can only use the bindings it was given.
 */
import * as net from 'node:net'

/** Where a runtime connection goes. */
export interface RuntimeDestination {
  host: string
  port: number
}

/**
 * Makes an unconnected `net.Socket` whose own `connect()` reaches
 * `destination` (and nothing else) past the egress policy, once. Drivers
 * call `connect()` on it themselves (pg's `stream` option, an ioredis
 * Connector).
 *
 * @example
 * const socket = runtimeSocket({ host: 'db.internal', port: 5432 })
 * socket.connect(5432, 'db.internal')
 */
export type RuntimeSocketFactory = (destination: RuntimeDestination) => net.Socket

type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket

/**
 * The factory over `unguarded`, the `net.Socket.prototype.connect` from before
 * the guard; `exempt` tells the raw-handle guard each socket it makes. Each socket's `connect` is pinned: called with another host or
 * port, or a second time, it fails, so a worker that got hold of the socket
 * (by patching a prototype the driver uses) cannot point it elsewhere.
 *
 * @example
 * const original = net.Socket.prototype.connect
 * net.Socket.prototype.connect = guarded
 * return runtimeSocketFactory(original)
 */
export function runtimeSocketFactory(
  unguarded: Connect,
  exempt: (socket: net.Socket) => void = () => {},
): RuntimeSocketFactory {
  return (destination) => {
    const socket = new net.Socket()
    // The raw-handle guard below net.Socket checks each connect too.
    exempt(socket)
    let used = false
    const pinnedConnect = (...args: unknown[]): net.Socket => {
      const asked = requested(args)
      const elsewhere =
        (asked.port !== undefined && Number(asked.port) !== destination.port) ||
        (asked.host !== undefined && asked.host !== destination.host)
      if (used || elsewhere) {
        const what = used ? 'a second time' : `to ${asked.host ?? '?'}:${asked.port ?? '?'}`
        // Thrown, not emitted: a destroyed socket emits nothing more, and no
        // driver does this; only code misusing a socket it got hold of.
        throw Object.assign(
          new Error(
            `A runtime connection to ${destination.host}:${destination.port} cannot connect ${what}`,
          ),
          { code: 'ERR_EGRESS_DENIED' },
        )
      }
      used = true
      const callback = args.find((arg) => typeof arg === 'function')
      const options = { host: destination.host, port: destination.port }
      return unguarded.call(socket, options, ...(callback ? [callback] : []))
    }
    Object.defineProperty(socket, 'connect', { value: pinnedConnect })
    return socket
  }
}

/** The host and port a `connect(...)` call names, in any of its forms. */
function requested(args: unknown[]): { host?: string; port?: number | string } {
  const [first, second] = args
  if (first !== null && typeof first === 'object') {
    const { host, port } = first as { host?: string; port?: number | string }
    return { ...(host !== undefined && { host }), ...(port !== undefined && { port }) }
  }
  if (typeof first === 'number' || typeof first === 'string') {
    return { port: first, ...(typeof second === 'string' && { host: second }) }
  }
  return {}
}

/**
 * Without a guard (tests, tools), runtime sockets are plain sockets; if a
 * guard is installed later, they meet it like any other.
 *
 * @example
 * const socket = plainSocket({ host: '127.0.0.1', port: 6379 })
 */
export const plainSocket: RuntimeSocketFactory = () => new net.Socket()
