/**
 * Child processes as test peers (`openssl s_server`, `socat`, real servers),
 * with readiness detection, bounded waits and guaranteed cleanup.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import { after } from 'node:test'
import { within } from './timers.ts'

/** Default bound for every wait in this file, in ms. */
export const DEFAULT_TIMEOUT = 10_000

export interface PeerOptions {
  /** Resolve `spawnPeer` only once stdout or stderr matches this. Default: at once. */
  waitFor?: RegExp | string
  /** `'pipe'` to write to the peer's stdin. Default: `'ignore'`. */
  stdin?: 'pipe' | 'ignore'
  /** Bound for the `waitFor` wait, in ms. Default: `DEFAULT_TIMEOUT`. */
  timeout?: number
  cwd?: string
  env?: NodeJS.ProcessEnv
  /**
   * Run the peer in its own process group and signal the whole group: for
   * launchers such as `npx` that do not pass SIGTERM on to what they start.
   * Default: `false`.
   */
  group?: boolean
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A running peer process. */
export interface Peer extends AsyncDisposable {
  child: ChildProcess
  /** The peer's stdin, when spawned with `stdin: 'pipe'`. */
  stdin: Writable | null
  /** Everything written to stdout so far. */
  readonly stdout: string
  /** Everything written to stdout and stderr so far, in arrival order. */
  readonly output: string
  /** The match of `waitFor`, or `null` when there was none. */
  ready: RegExpExecArray | null
  /**
   * Waits until the output after the previous match contains `pattern`, so
   * consecutive calls walk through a conversation in order.
   */
  waitFor(pattern: RegExp | string, timeout?: number): Promise<RegExpExecArray>
  /** Waits (bounded) for the process to exit by itself. */
  waitExit(timeout?: number): Promise<Exit>
  /** SIGTERM, then SIGKILL if it lingers. Harmless once the process is gone. */
  kill(): Promise<void>
}

/** How to signal each live peer (the process, or its whole group). */
const live = new Set<(signal: NodeJS.Signals) => void>()
// Last resort if a test file crashes before its `after` hooks run.
process.once('exit', () => {
  for (const sendSignal of live) sendSignal('SIGKILL')
})

/**
 * Starts `cmd` and resolves once its output matches `options.waitFor`. The
 * process is killed after the current test (a `node:test` `after` hook), or
 * earlier through `kill()` or `await using`.
 *
 * @example
 * await using server = await spawnPeer('socat', ['-d', '-d', 'TCP-LISTEN:0', 'EXEC:cat'], {
 *   waitFor: /listening on .*:(\d+)/,
 * })
 * const port = Number(server.ready?.[1])
 */
export async function spawnPeer(
  cmd: string,
  args: string[],
  options: PeerOptions = {},
): Promise<Peer> {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    detached: options.group ?? false,
  })
  const sendSignal = (name: NodeJS.Signals) => {
    if (!options.group || child.pid === undefined) return void child.kill(name)
    try {
      process.kill(-child.pid, name)
    } catch {
      // The group is gone already.
    }
  }
  live.add(sendSignal)
  // 'close' (not 'exit') comes after stdout and stderr are drained.
  let closed = false
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      closed = true
      live.delete(sendSignal)
      resolve({ code, signal })
    })
  })
  const spawned = Promise.race([
    once(child, 'spawn'),
    once(child, 'error').then(([error]) => Promise.reject(error)),
  ])

  let stdout = ''
  let output = ''
  let cursor = 0
  let wake = () => {}
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    output += chunk
    wake()
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
    wake()
  })

  const describe = () => `${cmd} ${args.join(' ')}`
  const waitFor = async (pattern: RegExp | string, timeout = DEFAULT_TIMEOUT) => {
    const re = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : new RegExp(pattern)
    const deadline = Date.now() + timeout
    for (;;) {
      const match = re.exec(output.slice(cursor))
      if (match) {
        cursor += match.index + match[0].length
        return match
      }
      if (closed) {
        throw new Error(`${describe()} exited before printing ${re}. Output:\n${output}`)
      }
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`Timed out waiting for ${re} from ${describe()}. Output:\n${output}`)
      // Woken by new output, by exit, or by the deadline.
      const { promise, resolve } = Promise.withResolvers<void>()
      wake = resolve
      const timer = setTimeout(resolve, left)
      await Promise.race([promise, exited])
      clearTimeout(timer)
    }
  }

  const kill = async () => {
    if (closed) return
    sendSignal('SIGTERM')
    const timer = setTimeout(() => sendSignal('SIGKILL'), 2_000)
    try {
      await within(exited, 5_000, `${describe()} to exit after SIGTERM`)
    } finally {
      clearTimeout(timer)
    }
  }

  const peer: Peer = {
    child,
    stdin: child.stdin,
    get stdout() {
      return stdout
    },
    get output() {
      return output
    },
    ready: null,
    waitFor,
    waitExit: (timeout = DEFAULT_TIMEOUT) =>
      within(exited, timeout, `${describe()} to exit. Output:\n${output}`),
    kill,
    [Symbol.asyncDispose]: kill,
  }
  after(kill)
  await spawned
  if (options.waitFor !== undefined) {
    try {
      peer.ready = await waitFor(options.waitFor, options.timeout)
    } catch (error) {
      await kill()
      throw error
    }
  }
  return peer
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
