/**
 * A real PostgreSQL server for tests and benchmarks: a fresh cluster in a
 * temporary directory, listening on 127.0.0.1 on a free port, with password
 * (SCRAM-SHA-256) authentication over TCP and optionally `ssl=on`.
 */
import { chmod, chown, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Restartable,
  runTool,
  type ServerProcess,
  type Stoppable,
  spawnServer,
  stoppable,
} from './process.ts'
import {
  type Deadline,
  HOST,
  onFreePort,
  type StartOptions,
  startDeadline,
  startFailure,
  waitUntil,
} from './ready.ts'
import {
  type Account,
  findBinary,
  makeServerDir,
  postgresBinDirs,
  removeServerDir,
  serviceAccount,
} from './system.ts'

export interface PostgresOptions extends StartOptions {
  /** Turns on `ssl=on` with this certificate and key (PEM). Default: no TLS. */
  ssl?: { cert: string; key: string }
}

/** A running PostgreSQL server. */
export interface PgServer extends Stoppable, Restartable {
  /** Always `127.0.0.1`. */
  host: string
  port: number
  /** `sockworker`, a plain (non-superuser) role that owns `database`. */
  user: string
  /** `sockworker-secret`. */
  password: string
  /** `sockworker`. */
  database: string
  /** `postgres://user:password@127.0.0.1:port/database`, with no `sslmode`: pass TLS options to the driver. */
  connectionString: string
  /** Whether the server was started with `ssl=on`. */
  ssl: boolean
  /** The temporary directory (cluster, Unix socket, key files); gone after `stop()`. */
  dir: string
  /**
   * Runs SQL as the `postgres` superuser over the Unix socket, for setup or
   * for provoking failures (`SELECT pg_terminate_backend(...)`). Resolves with
   * psql's unaligned, tuples-only output.
   */
  admin(sql: string, database?: string): Promise<string>
}

const USER = 'sockworker'
const PASSWORD = 'sockworker-secret'
const DATABASE = 'sockworker'
const SUPERUSER = 'postgres'

/**
 * Starts PostgreSQL from the Debian package `postgresql`. As root, the
 * cluster belongs to the `postgres` system user, since PostgreSQL refuses to
 * run as root.
 *
 * @example
 * await using pg = await startPostgres()
 * const client = new pg.Client({ connectionString: pg.connectionString })
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PgServer> {
  const deadline = startDeadline(options)
  const bin = (name: string): string =>
    findBinary({ names: [name], dirs: postgresBinDirs(), debianPackage: 'postgresql' })
  const tools = { initdb: bin('initdb'), postgres: bin('postgres'), psql: bin('psql') }
  const isReady = bin('pg_isready')
  const account = serviceAccount('postgres', 'postgresql')
  const dir = await makeServerDir('sockworker-pg-', account)
  // Not narrowed to `undefined`: the port callback below assigns it.
  let server = undefined as ServerProcess | undefined
  try {
    await initCluster(tools.initdb, dir, account, deadline)
    const settings = await serverSettings(dir, options.ssl, account)
    const launch = async (port: number, until: Deadline) => {
      const args = ['-D', join(dir, 'data'), '-p', String(port), ...settings]
      server = spawnServer(tools.postgres, args, { account, cwd: dir })
      await waitUntil(() => pgIsReady(isReady, port, dir), { server, deadline: until })
      return port
    }
    const port = await onFreePort((port) => launch(port, deadline))
    const admin = (sql: string, database = 'postgres'): Promise<string> =>
      psqlAdmin(tools.psql, { dir, port, database, timeout: 10_000 }, [sql])
    await psqlAdmin(tools.psql, { dir, port, database: 'postgres', timeout: deadline.left() }, [
      `CREATE ROLE ${USER} LOGIN PASSWORD '${PASSWORD}'`,
      `CREATE DATABASE ${DATABASE} OWNER ${USER}`,
    ])
    return {
      host: HOST,
      port,
      user: USER,
      password: PASSWORD,
      database: DATABASE,
      connectionString: `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${DATABASE}`,
      ssl: options.ssl !== undefined,
      dir,
      admin,
      down: async () => void (await server?.stop('SIGINT', 5_000)),
      up: async () => void (await launch(port, startDeadline())),
      // SIGINT is PostgreSQL's fast shutdown: it ends open sessions instead of waiting for them.
      ...stoppable(() => server!, dir, 'SIGINT', 5_000),
    }
  } catch (error) {
    const log = server?.tail()
    await server?.stop('SIGKILL', 0)
    await removeServerDir(dir)
    throw startFailure('PostgreSQL', dir, error, log)
  }
}

async function initCluster(
  initdb: string,
  dir: string,
  account: Account | undefined,
  deadline: Deadline,
): Promise<void> {
  const args = [
    ['-D', join(dir, 'data')],
    ['-U', SUPERUSER],
    // trust on the socket (only we can reach it, inside our directory); passwords over TCP.
    ['--auth-local=trust', '--auth-host=scram-sha-256'],
    // A throwaway cluster needs no fsync; C locale needs no system locale.
    ['--no-sync', '--encoding=UTF8', '--locale=C'],
  ].flat()
  await runTool(initdb, args, { account, cwd: dir, timeout: deadline.left() })
}

async function serverSettings(
  dir: string,
  ssl: PostgresOptions['ssl'],
  account: Account | undefined,
): Promise<string[]> {
  const settings: Record<string, string> = {
    listen_addresses: HOST,
    unix_socket_directories: dir,
    // Durability is pointless for a throwaway server, and costs time on CI disks.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
  }
  if (ssl !== undefined) {
    settings['ssl'] = 'on'
    settings['ssl_cert_file'] = await writePrivate(join(dir, 'server.crt'), ssl.cert, account)
    // PostgreSQL refuses a key that others can read, or that another user owns.
    settings['ssl_key_file'] = await writePrivate(join(dir, 'server.key'), ssl.key, account)
  }
  return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])
}

async function writePrivate(file: string, text: string, account?: Account): Promise<string> {
  await writeFile(file, text, { mode: 0o600 })
  await chmod(file, 0o600)
  if (account) await chown(file, account.uid, account.gid)
  return file
}

/** `pg_isready` over TCP: exit 0 once the server accepts connections (not while starting up). */
async function pgIsReady(pgIsready: string, port: number, dir: string): Promise<boolean> {
  const args = ['-q', '-h', HOST, '-p', String(port), '-U', SUPERUSER, '-d', 'postgres', '-t', '2']
  try {
    await runTool(pgIsready, args, { cwd: dir, timeout: 3_000 })
    return true
  } catch {
    return false
  }
}

function psqlAdmin(
  psql: string,
  target: { dir: string; port: number; database: string; timeout: number },
  statements: string[],
): Promise<string> {
  const connection = ['-h', target.dir, '-p', String(target.port), '-U', SUPERUSER]
  const commands = statements.flatMap((sql) => ['-c', sql])
  const args = [
    '-X',
    '-q',
    '-A',
    '-t',
    '-v',
    'ON_ERROR_STOP=1',
    ...connection,
    '-d',
    target.database,
  ]
  return runTool(psql, [...args, ...commands], { cwd: target.dir, timeout: target.timeout })
}
