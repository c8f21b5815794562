/// <reference lib="esnext.disposable" preserve="true" />
// ^ Our declarations use Symbol.asyncDispose: consumers get the lib that declares it.
/**
 * `SocketListener`: accepted connections as an async iterable, as Deno's
 * listeners are, plus a `socket` event. The kind of listener (a stream server
 * or a UDP flow table) is behind a small `Acceptor` interface.
 */

import { abortReason } from './errors.ts'
import { noop } from './promises.ts'
import type { Socket } from './socket.ts'
import type { ListenerInfo } from './types.ts'

/** What a listener's source does: the core's TCP/TLS server or its UDP flows. */
export interface Acceptor {
  close(): void
}

/** Dispatched for each accepted socket. `preventDefault()` takes the socket from the iterator. */
export class SocketEvent extends Event {
  readonly socket: Socket
  constructor(socket: Socket) {
    super('socket', { cancelable: true })
    this.socket = socket
  }
}

/**
 * Why a UDP listener refused a new flow: `"max-flows"`, it holds `maxFlows`
 * already; `"rate"`, flows open faster than `newFlowsPerSecond`.
 */
export type FlowDropReason = 'max-flows' | 'rate'

/**
 * Dispatched as `drop` when a UDP listener discards a datagram that would
 * have opened a new flow, at its `maxFlows` or past `newFlowsPerSecond` (as
 * Node's `net.Server` emits `drop` past `maxConnections`).
 *
 * @example
 * listener.addEventListener('drop', (event) => dropped[event.reason]++)
 */
export class FlowDropEvent extends Event {
  readonly remoteAddress: string
  readonly remotePort: number
  readonly reason: FlowDropReason
  constructor(remoteAddress: string, remotePort: number, reason: FlowDropReason = 'max-flows') {
    super('drop')
    this.remoteAddress = remoteAddress
    this.remotePort = remotePort
    this.reason = reason
  }
}

/**
 * Accepted sockets, as an async iterable. Close it with `close()`, its
 * `signal`, or `await using`.
 *
 * @example
 * const listener = listen({ port: 7000 })
 * for await (const socket of listener) socket.readable.pipeTo(socket.writable)
 */
export class SocketListener extends EventTarget implements AsyncIterable<Socket> {
  readonly #opened = Promise.withResolvers<ListenerInfo>()
  readonly #closed = Promise.withResolvers<void>()
  readonly #queue: Socket[] = []
  readonly #waiting: Array<(result: IteratorResult<Socket>) => void> = []
  readonly #maxQueued: number
  #acceptor: Acceptor | undefined
  #addr: ListenerInfo | undefined
  #done = false
  #stopped = false
  #abortReason: unknown
  /** Set when a listener is added: with none, accepting makes no event object. */
  #listened = false

  /** @internal Made by `listen()`. */
  constructor(maxQueued: number) {
    super()
    this.#maxQueued = maxQueued
    this.#opened.promise.catch(noop)
    this.#closed.promise.catch(noop)
  }

  /** Resolves with the bound address once the listener accepts connections. */
  get opened(): Promise<ListenerInfo> {
    return this.#opened.promise
  }

  /** Resolves when the listener has stopped; rejects if it failed. */
  get closed(): Promise<void> {
    return this.#closed.promise
  }

  /** The bound address. Read it after `opened` resolves. */
  get addr(): ListenerInfo {
    if (this.#addr === undefined) {
      throw new Error('The listener is not bound yet: await listener.opened before reading addr')
    }
    return this.#addr
  }

  /** Stops accepting. Sockets already accepted stay open. Idempotent. */
  close(): Promise<void> {
    this.#endIteration()
    if (this.#acceptor === undefined) this.stopped(undefined)
    else this.#acceptor.close()
    return this.#closed.promise
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(noop)
  }

  [Symbol.asyncIterator](): AsyncIterator<Socket> {
    return {
      next: () => {
        const socket = this.#queue.shift()
        if (socket !== undefined) return Promise.resolve({ value: socket, done: false })
        if (this.#done) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve) => this.#waiting.push(resolve))
      },
      // Leaving a `for await` loop early leaves the listener open, as in
      // Deno: the loop is one consumer, not the owner.
      return: async () => ({ value: undefined, done: true }),
    }
  }

  /** @internal The acceptor is ready; `signal` may close it. */
  start(acceptor: Acceptor, signal: AbortSignal | undefined): void {
    this.#acceptor = acceptor
    if (signal === undefined) return
    const onAbort = () => {
      this.#abortReason = signal.reason
      this.close()
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
  }

  override addEventListener(...args: Parameters<EventTarget['addEventListener']>): void {
    this.#listened = true
    super.addEventListener(...args)
  }

  /** @internal */
  bound(info: ListenerInfo): void {
    this.#addr = info
    this.#opened.resolve(info)
  }

  /** @internal A new connection or flow. */
  accept(socket: Socket): void {
    if (this.#done) {
      socket.abort(abortReason(undefined, 'listener'))
      return
    }
    // With no listener, no event can be cancelled: skip making one per connection.
    if (this.#listened && !this.dispatchEvent(new SocketEvent(socket))) return
    const waiter = this.#waiting.shift()
    if (waiter !== undefined) return waiter({ value: socket, done: false })
    if (this.#queue.length >= this.#maxQueued) {
      // Nobody is taking sockets: refuse like a full kernel backlog would.
      socket.abort(new Error('The listener has too many unclaimed sockets'))
      return
    }
    this.#queue.push(socket)
  }

  /** @internal The acceptor stopped, with `error` if it failed. */
  stopped(error: unknown): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#opened.reject(
      error ?? this.#abortReason ?? new Error('The listener was closed before it was bound'),
    )
    this.#endIteration()
    if (error === undefined) this.#closed.resolve()
    else this.#closed.reject(error)
    this.dispatchEvent(new Event('close'))
  }

  #endIteration(): void {
    if (this.#done) return
    this.#done = true
    for (const resolve of this.#waiting.splice(0)) resolve({ value: undefined, done: true })
    for (const socket of this.#queue.splice(0)) socket.abort(abortReason(undefined, 'listener'))
  }
}
