/**
 * `node:net` clients for the e2e tests: a line client for conversations,
 * and a bounded load generator of short-lived connections that counts
 * every failure.
 */
import { connect, type Socket } from 'node:net'
import { within } from '../../helpers/timers.ts'

/** One conversation with a worker over `node:net`. */
export interface LineClient extends AsyncDisposable {
  socket: Socket
  /** Everything received so far. */
  readonly text: string
  /** Resolves with the first match of `pattern` in the text from `from` on; bounded. */
  until(pattern: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>
  send(line: string): void
  /** Settles when the socket closes: with the error's code, or `undefined` for a clean end. */
  closed: Promise<string | undefined>
}

/**
 * Connects to `127.0.0.1:port` and collects what the worker sends.
 *
 * @example
 * await using client = await openClient(port)
 * await client.until(/hello/)
 */
export async function openClient(port: number, timeoutMs = 5000): Promise<LineClient> {
  const socket = connect({ host: '127.0.0.1', port })
  let text = ''
  let wake = () => {}
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    text += chunk
    wake()
  })
  const closed = new Promise<string | undefined>((resolve) => {
    let code: string | undefined
    socket.on('error', (error: NodeJS.ErrnoException) => (code = error.code ?? error.message))
    socket.once('close', () => {
      resolve(code)
      wake()
    })
  })
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    }),
    timeoutMs,
    `a connection to port ${port}`,
  )
  let done = false
  void closed.then(() => (done = true))
  return {
    socket,
    get text() {
      return text
    },
    async until(pattern, ms = 5000, from = 0) {
      const deadline = Date.now() + ms
      for (;;) {
        const match = text.slice(from).match(pattern)
        if (match) return match
        if (done || Date.now() > deadline) {
          throw new Error(`Expected ${pattern} from port ${port}; got ${JSON.stringify(text)}`)
        }
        const { promise, resolve } = Promise.withResolvers<void>()
        wake = resolve
        const timer = setTimeout(resolve, deadline - Date.now())
        await promise
        clearTimeout(timer)
      }
    },
    send: (line) => void socket.write(line),
    closed,
    async [Symbol.asyncDispose]() {
      socket.destroy()
      await closed
    },
  }
}

/**
 * One short-lived connection: connect, send `payload` (default none) and
 * half-close, read until the end. `error` is the socket error's code, or
 * "timeout". Through a proxy, send a payload: HAProxy aborts a connect whose
 * client has already closed without sending anything (its log says `CC`).
 *
 * @example
 * const { reply, error } = await oneShot(port)
 */
export async function oneShot(
  port: number,
  timeoutMs = 3000,
  payload = '',
): Promise<{ reply: string; error: string | undefined }> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.setEncoding('utf8')
  let reply = ''
  let error: string | undefined
  socket.on('data', (chunk: string) => (reply += chunk))
  socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message))
  socket.once('connect', () => (payload === '' ? socket.end() : socket.end(payload)))
  const timer = setTimeout(() => {
    error ??= 'timeout'
    socket.destroy()
  }, timeoutMs)
  await new Promise((resolve) => socket.once('close', resolve))
  clearTimeout(timer)
  return { reply, error }
}

export interface LoadResult {
  ok: number
  /** What went wrong, one entry per failed connection. */
  failures: string[]
  /** How often each reply was seen. */
  replies: Map<string, number>
}

export interface LoadOptions {
  port: number
  /** Connections in flight at any time. */
  concurrency: number
  /** Whether a reply is right. */
  accept(reply: string): boolean
  /** Stops starting connections; the ones in flight finish. */
  signal: AbortSignal
  /** Sent on each connection before it half-closes; default none. */
  payload?: string
  /** Called after every connection, successful or not. */
  onResult?(result: { reply: string; ok: boolean; startedAt: number }): void
}

/**
 * Runs `concurrency` loops of one-shot connections until `signal` aborts,
 * and counts a failure for any error, reset, timeout or wrong reply.
 *
 * @example
 * const stop = new AbortController()
 * const load = runLoad({ port, concurrency: 10, accept: (r) => r === 'v1\n', signal: stop.signal })
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failures: [], replies: new Map() }
  const loop = async () => {
    while (!options.signal.aborted) {
      const startedAt = performance.now()
      const { reply, error } = await oneShot(options.port, 3000, options.payload)
      const ok = error === undefined && options.accept(reply)
      if (ok) result.ok++
      else result.failures.push(error ?? `wrong reply ${JSON.stringify(reply)}`)
      result.replies.set(reply, (result.replies.get(reply) ?? 0) + 1)
      options.onResult?.({ reply, ok, startedAt })
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, loop))
  return result
}

/**
 * Counts ticks (one per finished connection) so that a test can pace
 * itself on the load's progress instead of on the clock.
 *
 * @example
 * const progress = new Progress()
 * runLoad({ ...options, onResult: () => progress.tick() })
 * await progress.after(100) // the load is warm
 */
export class Progress {
  #count = 0
  #waiters: Array<{ target: number; resolve(): void }> = []

  tick(): void {
    this.#count++
    this.#waiters = this.#waiters.filter((w) => {
      if (this.#count < w.target) return true
      w.resolve()
      return false
    })
  }

  /** Waits (bounded) until `more` further ticks have happened. */
  after(more: number, timeoutMs = 10_000): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>()
    this.#waiters.push({ target: this.#count + more, resolve })
    return within(promise, timeoutMs, `${more} more connections`)
  }
}
