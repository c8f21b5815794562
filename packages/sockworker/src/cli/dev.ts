/**
 * `sockworker dev`: one worker, one replica, human-readable logs, no egress
 * limits, and a reload whenever a file next to the worker changes.
 */
import { existsSync, watch } from 'node:fs'
import { basename, dirname, extname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { LogConfig, ResolvedConfig, StorageBinding, WorkerConfig } from '../config/types.ts'
import { Supervisor } from '../host/supervisor.ts'
import { createLogger } from '../observe/log.ts'
import { backendOf, redactUrl } from '../storage/url.ts'
import { listenersFromFlags } from './listener-flags.ts'
import { devHelp, UsageError } from './usage.ts'
import {
  findWranglerConfig,
  readWranglerConfig,
  type WranglerWorker,
  wranglerFiles,
} from './wrangler.ts'

const devLimits = {
  memoryMb: 512,
  cpuMs: 5000,
  maxConnections: 10_000,
  handshakeTimeoutMs: 10_000,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  drainTimeoutMs: 5000,
}

export async function dev(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tcp: { type: 'string', multiple: true, default: [] },
      tls: { type: 'string', multiple: true, default: [] },
      udp: { type: 'string', multiple: true, default: [] },
      quic: { type: 'string', multiple: true, default: [] },
      alpn: { type: 'string', multiple: true, default: [] },
      http: { type: 'string', multiple: true, default: [] },
      cert: { type: 'string' },
      key: { type: 'string' },
      var: { type: 'string', multiple: true, default: [] },
      storage: { type: 'string', multiple: true, default: [] },
      'allow-half-open': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'info' },
      compatibility: { type: 'string', default: 'workerd' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(devHelp)
    return 0
  }
  if (positionals.length > 1) throw new UsageError('Give exactly one worker file')
  const wrangler = positionals.length === 0 ? fromWrangler() : undefined
  const script = positionals[0] ?? wrangler?.script ?? ''
  const file = resolve(script)
  if (!existsSync(file)) {
    const where = wrangler ? ` (main in ${wrangler.file})` : ''
    throw new UsageError(`Worker file "${script}"${where} does not exist`)
  }
  if (!['.ts', '.mts', '.js', '.mjs'].includes(extname(file))) {
    throw new UsageError(`Worker file "${script}": expected .ts, .mts, .js or .mjs`)
  }
  const level = values['log-level']
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new UsageError(`--log-level "${level}": expected debug, info, warn or error`)
  }
  if (values.compatibility !== 'workerd' && values.compatibility !== 'node') {
    throw new UsageError(`--compatibility "${values.compatibility}": expected workerd or node`)
  }
  const log: LogConfig = { format: 'pretty', level: level as LogConfig['level'] }
  const worker: WorkerConfig = {
    name: wrangler?.name ?? basename(file, extname(file)),
    script: file,
    replicas: 1,
    compatibility: values.compatibility === 'node' ? 'node' : 'workerd',
    vars: { ...wrangler?.vars, ...parseVars(values.var) },
    secrets: {},
    limits: devLimits,
    egress: { allow: ['any'], deny: [] },
    tunnels: [],
    storage: parseStorage(values.storage),
    sandbox: undefined,
    listeners: listenersFromFlags(
      { ...values, cert: values.cert, key: values.key },
      devLimits.idleTimeoutMs,
    ),
  }
  const config: ResolvedConfig = {
    log,
    metrics: undefined,
    drain: { delayMs: 0 },
    workers: [worker],
  }
  return run(config, dirname(file))
}

/**
 * A bare `sockworker dev`: the worker comes from the wrangler config in the
 * current folder. Says what was read and what was ignored.
 */
function fromWrangler(): WranglerWorker {
  const file = findWranglerConfig(process.cwd())
  if (file === undefined) {
    throw new UsageError(
      `Give exactly one worker file, or run in a folder with ${wranglerFiles.join(', ')}`,
    )
  }
  const worker = readWranglerConfig(file)
  const date = worker.compatibilityDate ? ` (compatibility_date ${worker.compatibilityDate})` : ''
  const ignored = worker.ignored.length > 0 ? `; ignoring ${worker.ignored.join(', ')}` : ''
  console.log(`${basename(file)}: worker ${worker.script}${date}${ignored}`)
  return worker
}

async function run(config: ResolvedConfig, watchDir: string): Promise<number> {
  const log = createLogger(config.log)
  console.log(
    'dev runs the worker unsandboxed: it may read and write any file, run programs and see the environment (serve does not allow this; see docs/security.md)',
  )
  const supervisor = new Supervisor(config, {
    log,
    onReady: (listener) => console.log(`ready ${listener}`),
  })
  try {
    await supervisor.start()
  } catch (error) {
    console.error((error as Error).message)
    return 1
  }
  const watcher = watchForChanges(watchDir, () => {
    log.info('change detected; reloading')
    void supervisor.reload(config)
  })
  await new Promise<void>((resolveStop) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolveStop())
  })
  watcher.close()
  await supervisor.stop()
  return 0
}

/** Calls `onChange` once per burst of changes, ignoring node_modules and dotfiles. */
function watchForChanges(dir: string, onChange: () => void) {
  let timer: ReturnType<typeof setTimeout> | undefined
  return watch(dir, { recursive: true }, (_event, name) => {
    if (name && (name.includes('node_modules') || basename(name).startsWith('.'))) return
    clearTimeout(timer)
    timer = setTimeout(onChange, 100)
  })
}

/**
 * `--storage NAME=path`: a storage binding on env.NAME, in that SQLite file;
 * `--storage NAME=redis://…` or `NAME=postgres://…`: on that server (in
 * dev, a password may sit in the URL).
 */
function parseStorage(pairs: string[]): Record<string, StorageBinding> {
  const storage: Record<string, StorageBinding> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at < 1 || at === pair.length - 1) {
      throw new UsageError(`--storage "${redactUrl(pair)}": expected NAME=path or NAME=URL`)
    }
    const target = pair.slice(at + 1)
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
      storage[pair.slice(0, at)] = { path: resolve(target) }
    } else if (backendOf(target) === undefined || target.startsWith('rediss:')) {
      throw new UsageError(
        `--storage "${pair.slice(0, at)}=${redactUrl(target)}": expected a redis:// or postgres:// URL, or a file path`,
      )
    } else {
      storage[pair.slice(0, at)] = { url: target, namespace: 'sockworker', timeoutMs: 5000 }
    }
  }
  return storage
}

function parseVars(pairs: string[]): Record<string, string> {
  const vars: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at < 1) throw new UsageError(`--var "${pair}": expected KEY=VALUE`)
    vars[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return vars
}
