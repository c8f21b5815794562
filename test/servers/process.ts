/**
 * Server and tool processes for the database fixtures: spawned as a system
 * user when we are root, with a clean environment, and a tail of their output
 * kept for error messages. No `node:test` here, so benchmarks can use it too.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { type Account, removeServerDir } from './system.ts'

/** How a process ended. `error` is set when it could not be spawned at all. */
export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  error?: Error
}

export interface ProcessOptions {
  /** Run as this user (we are root). Default: as us. */
  account?: Account | undefined
  /** Working directory; the fixture's temporary directory, which the user can enter. */
  cwd: string
  /** Added to the clean environment from `cleanEnv()`. */
  env?: Record<string, string>
}

/** A running server. */
export interface ServerProcess {
  readonly pid: number | undefined
  /** Resolves once the process has exited and its output is drained. */
  readonly exited: Promise<Exit>
  readonly running: boolean
  /** The last lines the server printed, for error messages. */
  tail(): string
  /**
   * Sends `signal`, then SIGKILL after `graceMs`, and waits for the exit.
   * Harmless once the process is gone.
   */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<Exit>
}

/** How `stop()` ends a fixture's server. */
export interface StopOptions {
  /** SIGKILL at once, as in a crash, instead of the server's clean shutdown. Default: `false`. */
  force?: boolean
}

/** What every fixture returns: `stop()` and `await using`. */
export interface Stoppable extends AsyncDisposable {
  /**
   * Stops the server (bounded: SIGKILL if it lingers) and removes its
   * temporary directory. Calling it again returns the same promise.
   */
  stop(options?: StopOptions): Promise<void>
}

const TAIL_CHARS = 8_000

// Last resort if a test process exits while servers still run.
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/**
 * The environment servers and tools run in: the parent's `PATH`, the C locale
 * (messages we match on stay English, initdb needs no system locale) and
 * nothing else, so a developer's `PGHOST` or `MYSQL_PWD` cannot leak in.
 *
 * @example
 * spawn('psql', args, { env: cleanEnv({ PGPASSWORD: 'x' }) })
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    LANG: 'C',
    LC_ALL: 'C',
    ...extra,
  }
}

/**
 * Starts a long-running server process. It is killed with SIGKILL if the test
 * process exits first.
 *
 * @example
 * const server = spawnServer('/usr/bin/redis-server', ['--port', '7001'], { cwd: dir })
 * await server.stop('SIGTERM', 5_000)
 */
export function spawnServer(cmd: string, args: string[], options: ProcessOptions): ServerProcess {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.account && { uid: options.account.uid, gid: options.account.gid }),
  })
  live.add(child)
  let output = ''
  const append = (chunk: string): void => {
    output = (output + chunk).slice(-TAIL_CHARS)
  }
  child.stdout?.setEncoding('utf8').on('data', append)
  child.stderr?.setEncoding('utf8').on('data', append)

  let running = true
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (error) => {
      running = false
      live.delete(child)
      resolve({ code: null, signal: null, error })
    })
    // 'close' (not 'exit') comes after stdout and stderr are drained.
    child.once('close', (code, signal) => {
      running = false
      live.delete(child)
      resolve({ code, signal })
    })
  })

  const stop = async (signal: NodeJS.Signals, graceMs: number): Promise<Exit> => {
    if (running) child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    pid: child.pid,
    exited,
    get running() {
      return running
    },
    tail: () => lastLines(output),
    stop,
  }
}

/**
 * Runs a short-lived tool (`initdb`, `psql`, `mariadb`...) to completion and
 * resolves with its stdout. Rejects with its stderr when it fails.
 *
 * @example
 * const rows = await runTool('psql', ['-XAtc', 'SELECT 1'], { cwd: dir, timeout: 10_000 })
 */
export function runTool(
  cmd: string,
  args: string[],
  options: ProcessOptions & { timeout: number },
): Promise<string> {
  const { promise, resolve, reject } = Promise.withResolvers<string>()
  execFile(
    cmd,
    args,
    {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      timeout: Math.max(1, options.timeout),
      killSignal: 'SIGKILL',
      encoding: 'utf8',
      ...(options.account && { uid: options.account.uid, gid: options.account.gid }),
    },
    (error, stdout, stderr) => {
      if (error === null) return resolve(stdout)
      const why = error.killed
        ? `timed out after ${options.timeout} ms`
        : `failed (${error.code ?? error.signal})`
      const output = lastLines(`${stdout}\n${stderr}`.trim())
      reject(new Error(`${[cmd, ...args].join(' ')} ${why}. Output:\n${output}`, { cause: error }))
    },
  )
  return promise
}

function lastLines(text: string, count = 40): string {
  return text.trimEnd().split('\n').slice(-count).join('\n')
}

/** A fixture whose server can go away and come back, for outage tests. */
export interface Restartable {
  /** Shuts the server down (its clean shutdown), keeping its directory and data. */
  down(): Promise<void>
  /** Starts it again on the same port (and data); resolves once it is ready. */
  up(): Promise<void>
}

/**
 * `stop()` for a fixture: `signal` (the server's clean shutdown), SIGKILL
 * after `graceMs`, then the directory goes. Idempotent.
 *
 * `server` may be a getter, for a fixture that restarts its process.
 *
 * @example
 * return { port, ...stoppable(server, dir, 'SIGINT', 5_000) }
 */
export function stoppable(
  server: ServerProcess | (() => ServerProcess),
  dir: string,
  signal: NodeJS.Signals,
  graceMs: number,
): Stoppable {
  let stopping: Promise<void> | undefined
  const current = typeof server === 'function' ? server : () => server
  const stop = (options: StopOptions = {}): Promise<void> => {
    stopping ??= (async () => {
      await current().stop(options.force ? 'SIGKILL' : signal, graceMs)
      await removeServerDir(dir)
    })()
    return stopping
  }
  return { stop, [Symbol.asyncDispose]: () => stop() }
}
