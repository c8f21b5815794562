/**
 * Starts the `sockworker` CLI as a user would, in a child process, and
 * reads its output: ready lines, log lines, exit. Every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const main = new URL('../../packages/sockworker/src/cli/main.ts', import.meta.url).pathname

export interface Cli {
  child: ChildProcess
  /** Everything printed so far, stdout and stderr interleaved. */
  readonly output: string
  /** Resolves with the first match of `pattern` in the output from `from` on, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>
  /** Sends SIGTERM and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | string>
  [Symbol.asyncDispose](): Promise<void>
}

export function startCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Cli {
  const child = spawn(process.execPath, [main, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const listeners = new Set<() => void>()
  const append = (chunk: Buffer) => {
    output += chunk.toString()
    for (const listener of listeners) listener()
  }
  child.stdout?.on('data', append)
  child.stderr?.on('data', append)
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1)
      for (const listener of listeners) listener()
    })
  })
  const cli: Cli = {
    child,
    get output() {
      return output
    },
    waitFor(pattern, timeoutMs = 15_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.slice(from).match(pattern)
          if (match) {
            done()
            resolve(match)
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done()
            reject(new Error(`The CLI exited before printing ${pattern}. Output:\n${output}`))
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(
            new Error(`Timed out after ${timeoutMs} ms waiting for ${pattern}. Output:\n${output}`),
          )
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          listeners.delete(check)
        }
        listeners.add(check)
        check()
      })
    },
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
    async [Symbol.asyncDispose]() {
      await cli.stop()
    },
  }
  return cli
}

/**
 * Waits for one `ready <type> <host>:<port>` line per type given and returns
 * the ports. A CLI that never gets ready is stopped before the error goes
 * on: a caller whose setup failed may not hold it, and a live child process
 * keeps the test file from ever exiting.
 */
export async function readyPorts(cli: Cli, types: string[]): Promise<Record<string, number>> {
  const ports: Record<string, number> = {}
  try {
    for (const type of types) {
      const [, port] = await cli.waitFor(new RegExp(`ready[^\\n]*${type} [\\d.:\\[\\]a-f]+:(\\d+)`))
      ports[type] = Number(port)
    }
  } catch (error) {
    await cli.stop()
    throw error
  }
  return ports
}

/** A temporary directory with the given files, removed by `await using`. */
export async function tempProject(files: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-e2e-'))
  // mkdtemp makes it 0700; under a root `serve`, replicas run as nobody and read workers here.
  await chmod(dir, 0o755)
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  return {
    dir,
    path: (name: string) => join(dir, name),
    write: (name: string, text: string) => writeFile(join(dir, name), text),
    async [Symbol.asyncDispose]() {
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** One listener from a `ready` line. */
export interface ReadyListener {
  type: string
  host: string
  port: number
}

/**
 * Waits for `count` ready lines and returns their listeners in the order
 * printed: for one worker, the config's order. Workers start side by side,
 * so with several workers, name the one whose listeners you want.
 *
 * @example
 * const [tcp, udp] = await readyListeners(cli, 2)
 * const [http] = await readyListeners(cli, 1, { worker: 'hello-http' })
 */
export async function readyListeners(
  cli: Cli,
  count: number,
  { worker }: { worker?: string } = {},
): Promise<ReadyListener[]> {
  // A line of that worker's, in either log format ("echo ready …" or "worker":"echo").
  const who =
    worker === undefined
      ? ''
      : String.raw`(?<=^|\n)(?=[^\n]*(?:\b${worker} ready|"worker":"${worker}"))[^\n]*?`
  const pattern = new RegExp(
    String.raw`${who}ready[^\n]*?\b(tcp|tls|udp|quic|http) ([\d.:[\]a-f]+):(\d+)`,
  )
  const found: ReadyListener[] = []
  let from = 0
  while (found.length < count) {
    const match = await cli.waitFor(pattern, 15_000, from)
    const [, type = '', host = '', port] = match
    found.push({ type, host, port: Number(port) })
    from += (match.index ?? 0) + match[0].length
  }
  return found
}

/** What a finished CLI run printed, and how it ended. */
export interface CliRun {
  code: number | string
  stdout: string
  stderr: string
}

/**
 * Runs the CLI to completion (SIGKILL after `timeoutMs`), for commands that
 * are expected to exit by themselves: `--help`, usage and load errors.
 *
 * @example
 * const { code, stderr } = await runCli(['serve', '--config', 'bad.toml'])
 */
export async function runCli(
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const child = spawn(process.execPath, [main, ...args], {
    cwd: options.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000)
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null]
  clearTimeout(timer)
  return { code: code ?? signal ?? -1, stdout, stderr }
}

/**
 * A node:net client: connects, writes `payload`, half-closes, and resolves
 * with everything received until the server closes. Rejects after `timeoutMs`.
 * With `until`, it half-closes only once `until(received)` is true, for
 * servers that stop replying when the client ends (allowHalfOpen false).
 *
 * @example
 * assert.equal(await exchange(port, 'ping'), 'ping')
 * await exchange(port, 'ping', { until: (received) => received.length >= 4 })
 */
export function exchange(
  port: number,
  payload: string,
  options: {
    host?: string
    localAddress?: string
    timeoutMs?: number
    until?: (received: string) => boolean
  } = {},
): Promise<string> {
  const { host = '127.0.0.1', localAddress, timeoutMs = 5000, until } = options
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) })
    let received = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(
        new Error(
          `Timed out after ${timeoutMs} ms talking to port ${port}; got ${JSON.stringify(received)}`,
        ),
      )
    }, timeoutMs)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      received += chunk
      if (until?.(received)) socket.end()
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(received)
    })
    if (until === undefined) socket.end(payload)
    else socket.write(payload)
  })
}
