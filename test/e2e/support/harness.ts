/**
 * What the isolation, reload, egress and metrics e2e tests share: a
 * `sockworker serve` run from a config written to a temporary directory,
 * its JSON log lines, and bounded waits on them. Clients and the load
 * generator are in `clients.ts`.
 */
import { fileURLToPath } from 'node:url'
import { type Cli, startCli, tempProject } from '../cli.ts'

/** One JSON log line of `sockworker serve`. */
export interface LogEntry {
  msg?: string
  level?: string
  time?: string
  worker?: string
  replica?: number
  pid?: number
  generation?: number
  conn?: string
  reason?: string
  listener?: string
  [field: string]: unknown
}

/**
 * The absolute path of a worker in this folder, for a config's `script`.
 *
 * @example
 * workerToml({ name: 'a', script: fixture('commands.js') })
 */
export function fixture(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url))
}

/**
 * Every complete JSON log line printed so far, in order; other lines are skipped.
 *
 * @example
 * logEntries(cli.output).filter((entry) => entry.msg === 'ready')
 */
export function logEntries(output: string): LogEntry[] {
  const entries: LogEntry[] = []
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      entries.push(JSON.parse(line) as LogEntry)
    } catch {
      // A line still being written, or not ours.
    }
  }
  return entries
}

/** A running `sockworker serve` and its temporary project. */
export interface Served extends AsyncDisposable {
  cli: Cli
  dir: string
  /** Rewrites a file of the project (a worker, before SIGHUP). */
  write(name: string, text: string): Promise<void>
  /** The ports of the ready lines, in config order (workers, then their listeners). */
  ports: number[]
  /** The metrics URL, when the config has `[metrics]`. */
  metricsUrl: string | undefined
  logs(): LogEntry[]
  /** Resolves with the first log entry (from the `from`-th on) that `match` accepts; bounded. */
  waitForLog(
    match: (entry: LogEntry) => boolean,
    options?: { timeoutMs?: number; from?: number },
  ): Promise<LogEntry>
  /** The "replica started" lines of `worker`, in order. */
  started(worker: string): LogEntry[]
}

/**
 * Writes `files` (one of them `sockworker.toml`) to a temporary directory,
 * starts `sockworker serve` on it, and waits for `listeners` ready lines
 * (plus the metrics one when the config has `[metrics]`).
 *
 * @example
 * await using served = await serveProject({ 'sockworker.toml': toml }, 2)
 * const [portA, portB] = served.ports
 */
export async function serveProject(
  files: Record<string, string>,
  listeners: number,
): Promise<Served> {
  const project = await tempProject(files)
  const cli = startCli(['serve', '--config', project.path('sockworker.toml')], {
    cwd: project.dir,
  })
  const logs = () => logEntries(cli.output)
  const waitForLog: Served['waitForLog'] = async (match, options = {}) => {
    const { timeoutMs = 10_000, from = 0 } = options
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = logs().slice(from).find(match)
      if (found !== undefined) return found
      const left = deadline - Date.now()
      if (left <= 0 || cli.child.exitCode !== null) {
        throw new Error(`No matching log line within ${timeoutMs} ms. Output:\n${cli.output}`)
      }
      // Wakes on the next output, the exit, or the deadline.
      await cli.waitFor(/[\s\S]/, left, cli.output.length).catch(() => {})
    }
  }
  const dispose = async () => {
    await cli.stop()
    await project[Symbol.asyncDispose]()
  }
  try {
    const metrics = /\[metrics\]/.test(files['sockworker.toml'] ?? '') ? 1 : 0
    const readyLines = () => logs().filter((entry) => entry.msg === 'ready')
    const deadline = Date.now() + 15_000
    while (readyLines().length < listeners + metrics) {
      if (cli.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`sockworker serve did not get ready. Output:\n${cli.output}`)
      }
      await cli.waitFor(/[\s\S]/, deadline - Date.now(), cli.output.length).catch(() => {})
    }
    const lines = inConfigOrder(readyLines(), files['sockworker.toml'] ?? '')
    const ports: number[] = []
    let metricsUrl: string | undefined
    for (const { listener = '' } of lines) {
      if (listener.startsWith('metrics ')) metricsUrl = listener.slice('metrics '.length)
      else ports.push(Number(/:(\d+)$/.exec(listener)?.[1]))
    }
    return {
      cli,
      dir: project.dir,
      write: project.write,
      ports,
      metricsUrl,
      logs,
      waitForLog,
      started: (worker) =>
        logs().filter((entry) => entry.msg === 'replica started' && entry.worker === worker),
      [Symbol.asyncDispose]: dispose,
    }
  } catch (error) {
    await dispose()
    throw error
  }
}

/**
 * A TOML `[[workers]]` table with one TCP listener, on `address` or else on a
 * port the system picks (`127.0.0.1:0`).
 *
 * @example
 * const toml = jsonLog + workerToml({ name: 'echo', script: fixture('commands.js') })
 */
export function workerToml(options: {
  name: string
  address?: string
  script: string
  replicas?: number
  vars?: Record<string, string>
  limits?: Record<string, number>
  allow?: string[]
  /** `[workers.sandbox] allow`. */
  sandbox?: string[]
}): string {
  const lines = [
    '[[workers]]',
    `name = ${JSON.stringify(options.name)}`,
    `script = ${JSON.stringify(options.script)}`,
    `replicas = ${options.replicas ?? 1}`,
  ]
  const vars = Object.entries(options.vars ?? {}).map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
  if (vars.length > 0) lines.push(`vars = { ${vars.join(', ')} }`)
  // A short drain keeps `stop()` quick should a test leave a connection open.
  const limits = { drain_timeout_ms: 2000, ...options.limits }
  lines.push('[workers.limits]', ...Object.entries(limits).map(([k, v]) => `${k} = ${v}`))
  if (options.allow !== undefined) {
    lines.push('[workers.egress]', `allow = ${JSON.stringify(options.allow)}`)
  }
  if (options.sandbox !== undefined) {
    lines.push('[workers.sandbox]', `allow = ${JSON.stringify(options.sandbox)}`)
  }
  const address = JSON.stringify(options.address ?? '127.0.0.1:0')
  lines.push('[[workers.listeners]]', 'type = "tcp"', `address = ${address}`, '')
  return lines.join('\n')
}

/** The `[log]` table every test uses: JSON lines, so that they can be parsed. */
export const jsonLog = '[log]\nformat = "json"\n'

/**
 * Ready lines in the config's order: workers start side by side, so their
 * lines interleave, but a worker's own come in its listeners' order.
 */
function inConfigOrder<T extends { worker?: unknown }>(lines: T[], toml: string): T[] {
  const names = toml
    .split(/^\[\[workers\]\]\s*$/m)
    .slice(1)
    .map((table) => /^name\s*=\s*"([^"]+)"/m.exec(table.split(/^\[/m)[0] ?? '')?.[1])
  const rank = (line: T) => {
    const index = names.indexOf(typeof line.worker === 'string' ? line.worker : undefined)
    return index === -1 ? names.length : index
  }
  return lines.toSorted((a, b) => rank(a) - rank(b)) // stable: a worker's own order stays
}
