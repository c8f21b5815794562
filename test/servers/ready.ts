import { connect } from 'node:net'
import { freePort } from '../helpers/ports.ts'
import type { ServerProcess } from './process.ts'

/** Loopback only: every fixture listens here. */
export const HOST = '127.0.0.1'

/** Options every `start*()` fixture takes. */
export interface StartOptions {
  /** Bound for the whole start, in ms. Default: 30_000. */
  timeout?: number
  /** Aborts the start; whatever was started is stopped and removed. */
  signal?: AbortSignal
}

/** The time and signal that bound one start. */
export interface Deadline {
  /** Milliseconds left; 0 once past. */
  left(): number
  /** Throws when the start is aborted or out of time. */
  check(): void
}

/**
 * @example
 * const deadline = startDeadline(options)
 * await runTool('initdb', args, { cwd, timeout: deadline.left() })
 */
export function startDeadline(options: StartOptions = {}): Deadline {
  const timeout = options.timeout ?? 30_000
  const at = Date.now() + timeout
  const left = (): number => Math.max(0, at - Date.now())
  return {
    left,
    check() {
      options.signal?.throwIfAborted()
      if (left() === 0) throw new Error(`Timed out after ${timeout} ms`)
    },
  }
}

/**
 * Calls `start(port)` with a free port, again with another port (up to
 * `attempts` times) when it fails with `code: 'EADDRINUSE'`.
 *
 * @example
 * const server = await onFreePort((port) => launch(port))
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort())
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (code !== 'EADDRINUSE' || attempt >= attempts) throw error
    }
  }
}

/**
 * Polls `probe` (10 ms, doubling to 200 ms) until it resolves `true`. Throws
 * as soon as `server` exits, with `code: 'EADDRINUSE'` when its log says the
 * port was taken, and when `deadline` passes.
 *
 * @example
 * await waitUntil(() => redisPing(port), { server, deadline })
 */
export async function waitUntil(
  probe: () => Promise<boolean>,
  { server, deadline }: { server: ServerProcess; deadline: Deadline },
): Promise<void> {
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    if (!server.running) throw exitedEarly(await server.exited, server.tail())
    deadline.check()
    if (await probe()) return
    if (!server.running) continue
    let timer: ReturnType<typeof setTimeout> | undefined
    const slept = new Promise((resolve) => {
      timer = setTimeout(resolve, Math.min(pause, deadline.left()))
    })
    // Woken early by the server's exit, so a crash is reported at once.
    await Promise.race([slept, server.exited])
    clearTimeout(timer)
  }
}

function exitedEarly(
  exit: { code: number | null; signal: string | null; error?: Error },
  log: string,
) {
  if (exit.error) return exit.error
  const how = exit.signal === null ? `with code ${exit.code}` : `on ${exit.signal}`
  const error = new Error(`The server exited ${how} before it was ready`)
  if (/address already in use/i.test(log)) Object.assign(error, { code: 'EADDRINUSE' })
  return error
}

/**
 * Connects to `HOST:port`, writes `send` if given, and resolves with what
 * `accept` says of the bytes received so far (`undefined`: wait for more).
 * Any failure, an early close or `timeout` resolves `false`.
 *
 * @example
 * const pong = await probeTcp(port, { send: 'PING\r\n', accept: (data) => data.includes('\r\n') ? data.toString() === '+PONG\r\n' : undefined })
 */
export function probeTcp(
  port: number,
  options: { send?: string; accept: (data: Buffer) => boolean | undefined; timeout?: number },
): Promise<boolean> {
  const { promise, resolve } = Promise.withResolvers<boolean>()
  const socket = connect({ host: HOST, port })
  let data = Buffer.alloc(0)
  const finish = (ready: boolean): void => {
    clearTimeout(timer)
    socket.destroy()
    resolve(ready)
  }
  const timer = setTimeout(() => finish(false), options.timeout ?? 1_000)
  socket.once('connect', () => {
    if (options.send !== undefined) socket.write(options.send)
  })
  socket.on('data', (chunk: Buffer) => {
    data = Buffer.concat([data, chunk])
    const verdict = options.accept(data)
    if (verdict !== undefined) finish(verdict)
  })
  socket.once('error', () => finish(false))
  socket.once('close', () => finish(false))
  return promise
}

/**
 * Wraps a failed start into one error that names the server and its
 * directory and carries the server's log tail.
 *
 * @example
 * throw startFailure('PostgreSQL', dir, error, server?.tail())
 */
export function startFailure(name: string, dir: string, error: unknown, log = ''): Error {
  const reason = error instanceof Error ? error.message : String(error)
  const tail = log.trim() === '' ? '' : `\nServer log (last lines):\n${log.trim()}`
  const failure = new Error(`Cannot start ${name} in "${dir}": ${reason}${tail}`, { cause: error })
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') Object.assign(failure, { code })
  return failure
}
