/**
 * The prototypes of libuv's TCP, UDP and Pipe handles, which no public
 * API exposes: the sandbox guards their methods. Taken once, before any
 * guard is installed, from sockets that never touch the network.
 */
import * as dgram from 'node:dgram'
import * as net from 'node:net'

export type RawMethod = (this: object, ...args: unknown[]) => unknown
export type RawPrototype = Record<string, RawMethod>

let found: { tcp: RawPrototype; udp: RawPrototype; pipe: RawPrototype } | undefined

/**
 * The three prototypes. The first call must come before
 * `net.Socket.prototype.connect` is guarded: it uses the original.
 *
 * @example
 * const { tcp } = rawHandlePrototypes()
 */
export function rawHandlePrototypes(): {
  tcp: RawPrototype
  udp: RawPrototype
  pipe: RawPrototype
} {
  found ??= {
    tcp: Object.getPrototypeOf(socketHandle({ port: -1, host: '127.0.0.1' })),
    pipe: Object.getPrototypeOf(socketHandle({ path: 1 })),
    udp: Object.getPrototypeOf(udpHandle()),
  }
  return found
}

/**
 * `connect()` creates the socket's handle (TCP, or Pipe for a path) before
 * it validates the port or path; an invalid one then throws, with no
 * connection attempted.
 */
function socketHandle(options: object): object {
  const probe = new net.Socket()
  try {
    probe.connect(options as net.NetConnectOpts)
  } catch {
    // ERR_SOCKET_BAD_PORT or ERR_INVALID_ARG_TYPE, as intended
  }
  const handle = (probe as unknown as { _handle: object | null })._handle
  probe.destroy()
  if (handle === null) throw new Error('Cannot reach a raw socket handle type to guard it')
  return handle
}

/** `dgram.createSocket()` makes its handle at once, kept under an internal symbol. */
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

/**
 * Replaces `proto[name]` with `guarded`, for good: non-writable and
 * non-configurable, so code that runs later can neither restore nor
 * redefine it. `guarded` receives the original, which nothing else keeps.
 */
export function lockMethod(
  proto: RawPrototype,
  name: string,
  guarded: (original: RawMethod) => RawMethod,
): void {
  const original = proto[name]
  if (typeof original !== 'function') throw new Error(`The raw handle has no ${name}()`)
  Object.defineProperty(proto, name, {
    value: guarded(original),
    writable: false,
    configurable: false,
  })
}
