/**
 * How the supervisor starts a sandboxed replica under `serve`: Node's
 * permission model (which files it reads and writes, whether it may start
 * processes, threads, addons or WASI), an environment holding only what
 * the runtime needs, and, when the supervisor runs as root, an
 * unprivileged account. See docs/security.md.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join, parse } from 'node:path'
import { fileURLToPath } from 'node:url'
import type {
  ListenerConfig,
  SandboxCapability,
  SandboxConfig,
  WorkerConfig,
} from '../config/types.ts'

const permissionFlag: Record<SandboxCapability, string> = {
  child_process: '--allow-child-process',
  worker_threads: '--allow-worker',
  addons: '--allow-addons',
  // QUIC on Node is quiche, a native addon of the runtime's; the lockdown
  // still closes process.dlopen to the worker's own code.
  quic: '--allow-addons',
  wasi: '--allow-wasi',
}

/** The runtime's own files: this package and @sockworker/sockets, wherever installed. */
const runtimeRoots = [
  packageRoot(fileURLToPath(import.meta.url)),
  packageRoot(fileURLToPath(import.meta.resolve('@sockworker/sockets'))),
]

/**
 * Environment variables a replica keeps: operator settings Node itself
 * reads (time zone, extra CA certificates for outbound TLS), none a secret.
 * Everything else, the supervisor's secrets included, stays behind; a
 * worker's vars and secrets reach it on `env`.
 */
export const keptEnv = ['TZ', 'NODE_EXTRA_CA_CERTS']

/** The `fork()` options that put one replica of `worker` in its sandbox. */
export interface SandboxedSpawn {
  execArgv: string[]
  env: Record<string, string>
  uid?: number
  gid?: number
}

/**
 * The flags, environment and account of a replica of `worker`. Under
 * `dev` (`worker.sandbox` undefined) the replica runs unconfined and keeps
 * the environment.
 *
 * @example
 * const sandbox = sandboxFor(worker)
 * fork(main, [], { execArgv: [...flags, ...sandbox.execArgv], env: sandbox.env })
 */
export function sandboxFor(worker: WorkerConfig): SandboxedSpawn {
  const sandbox = worker.sandbox
  if (sandbox === undefined)
    return { execArgv: [], env: { ...process.env } as Record<string, string> }
  const spawn: SandboxedSpawn = { execArgv: permissionFlags(worker, sandbox), env: replicaEnv() }
  const account = replicaAccount(sandbox)
  if (account !== undefined) Object.assign(spawn, account)
  return spawn
}

/**
 * `--permission` with reads limited to the worker's folder, the
 * `node_modules` folders it resolves packages from, the runtime's own
 * files, the storage folders and the config's `read` folders, and writes to the storage folders only
 * (SQLite creates -wal and -shm files beside the database).
 */
export function permissionFlags(worker: WorkerConfig, sandbox: SandboxConfig): string[] {
  const workerDir = dirname(worker.script)
  const storageDirs = storageFolders(worker)
  const reads = new Set([
    ...withRealPaths([workerDir, ...nodeModulesAbove(workerDir)]),
    ...runtimeRoots.flatMap((root) => withRealPaths([root, ...nodeModulesAbove(root)])),
    ...storageDirs,
    ...withRealPaths(sandbox.read),
  ])
  return [
    '--permission',
    ...[...reads].map((dir) => `--allow-fs-read=${dir}`),
    ...storageDirs.map((dir) => `--allow-fs-write=${dir}`),
    ...new Set([...sandbox.allow, ...runtimeNeeds(worker)].map((c) => permissionFlag[c])),
  ]
}

/** What the runtime itself needs in the replica: a QUIC listener needs the QUIC engine. */
function runtimeNeeds(worker: WorkerConfig): SandboxCapability[] {
  return worker.listeners.some((listener) => listener.type === 'quic') ? ['quic'] : []
}

/**
 * Creates the storage folders and, when replicas run as another account,
 * gives it the folders and the database files in them: SQLite writes the
 * database and creates its -wal and -shm files beside it. Repeated on
 * every start, so a file restored by root is handed back too.
 */
export function prepareStorage(worker: WorkerConfig): void {
  if (worker.sandbox === undefined) return
  const account = replicaAccount(worker.sandbox)
  const files = storageFiles(worker).flatMap((path) => [path, `${path}-wal`, `${path}-shm`])
  for (const path of [...storageFolders(worker), ...files]) {
    const folder = !files.includes(path)
    try {
      if (folder) mkdirSync(path, { recursive: true })
      if (account !== undefined && (folder || existsSync(path)))
        chownSync(path, account.uid, account.gid)
    } catch (error) {
      const what = folder ? 'storage folder' : 'storage file'
      throw new Error(
        `Cannot prepare the ${what} "${path}" of worker "${worker.name}": ${(error as Error).message}`,
        { cause: error },
      )
    }
  }
}

/** The folder of each storage file, once each. */
export function storageFolders(worker: WorkerConfig): string[] {
  return [...new Set(storageFiles(worker).map((path) => dirname(path)))]
}

/** The SQLite files among the storage bindings; Redis and PostgreSQL ones have none. */
function storageFiles(worker: WorkerConfig): string[] {
  return Object.values(worker.storage).flatMap((binding) =>
    'path' in binding ? [binding.path] : [],
  )
}

/**
 * What stops the replicas of `worker` from binding a UDP `listener`, if
 * anything. UDP replicas bind their own sockets (SO_REUSEPORT keeps each
 * flow on one replica), and an unprivileged account cannot bind a port
 * below net.ipv4.ip_unprivileged_port_start (1024 by default). TCP, TLS
 * and HTTP ports are bound by the supervisor, so any port works for them.
 *
 * @example
 * const problem = udpPortProblem(worker, listener)
 * if (problem) throw new Error(problem)
 */
export function udpPortProblem(worker: WorkerConfig, listener: ListenerConfig): string | undefined {
  if ((listener.type !== 'udp' && listener.type !== 'quic') || worker.sandbox === undefined)
    return undefined
  const account = replicaAccount(worker.sandbox)
  if (account === undefined || account.uid === 0) return undefined
  const lowest = unprivilegedPortStart()
  if (listener.port === 0 || listener.port >= lowest) return undefined
  const user = JSON.stringify(worker.sandbox.user.name)
  return (
    `Cannot serve ${listener.type} ${listener.hostname}:${listener.port} for worker "${worker.name}": ` +
    `its replicas bind their UDP sockets themselves and run as ${user}, who cannot bind ports below ${lowest}. ` +
    `Use a port of ${lowest} or more, lower net.ipv4.ip_unprivileged_port_start, ` +
    'or set [workers.sandbox] user = "root"'
  )
}

function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
  } catch {
    return 1024
  }
}

/** The uid and gid to run as: only a root supervisor can (and must) switch. */
function replicaAccount(sandbox: SandboxConfig): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  return { uid: sandbox.user.uid, gid: sandbox.user.gid }
}

function replicaEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of keptEnv) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/** Every `node_modules` folder Node would look in from `dir`, as it walks up. */
function nodeModulesAbove(dir: string): string[] {
  const found: string[] = []
  const { root } = parse(dir)
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'node_modules')
    if (existsSync(candidate)) found.push(candidate)
    if (at === root) return found
  }
}

/** A folder and, if a symlink leads elsewhere, where it leads: the permission model checks both forms. */
function withRealPaths(dirs: string[]): string[] {
  return dirs.flatMap((dir) => {
    let real = dir
    try {
      real = realpathSync(dir)
    } catch {
      // Gone since the config was read: the replica reports the missing worker.
    }
    return real === dir ? [dir] : [dir, real]
  })
}

function packageRoot(file: string): string {
  for (let at = dirname(file); ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json'))) return at
    if (at === dirname(at)) return dirname(file)
  }
}
