/**
 * A real MariaDB server for tests: a fresh data directory from
 * mariadb-install-db, mariadbd on 127.0.0.1 and a free port, and a password
 * user created through the Unix socket. Grant tables stay on: auth is real.
 */
import { join } from 'node:path'
import { runTool, type ServerProcess, type Stoppable, spawnServer, stoppable } from './process.ts'
import {
  type Deadline,
  HOST,
  onFreePort,
  probeTcp,
  type StartOptions,
  startDeadline,
  startFailure,
  waitUntil,
} from './ready.ts'
import {
  type Account,
  findBinary,
  makeServerDir,
  removeServerDir,
  serviceAccount,
} from './system.ts'

/** A running MariaDB server. */
export interface MariadbServer extends Stoppable {
  /** Always `127.0.0.1`. */
  host: string
  port: number
  /** `sockworker` (`'sockworker'@'%'`), with all privileges on `database` only. */
  user: string
  /** `sockworker-secret`. */
  password: string
  /** `sockworker`. */
  database: string
  /** The temporary directory (data directory, Unix socket); gone after `stop()`. */
  dir: string
  /**
   * Runs SQL as root over the Unix socket (for setup, or `KILL <id>`) and
   * resolves with the client's tab-separated output, without column names.
   */
  admin(sql: string): Promise<string>
}

const USER = 'sockworker'
const PASSWORD = 'sockworker-secret'
const DATABASE = 'sockworker'
const PACKAGE = 'mariadb-server'

/** Options for both mariadb-install-db (which passes them on) and mariadbd. */
const SERVER_OPTIONS = [
  '--skip-name-resolve',
  // Debian's my.cnf (skipped by --no-defaults) sets these; drivers expect them.
  '--character-set-server=utf8mb4',
  '--collation-server=utf8mb4_general_ci',
  // Small and undurable: a throwaway server on a 2-core CI machine.
  '--innodb-buffer-pool-size=16M',
  '--innodb-log-file-size=8M',
  '--innodb-flush-log-at-trx-commit=0',
  // io_uring and libaio are often blocked in containers; simulated AIO always works.
  '--innodb-use-native-aio=0',
]

/**
 * Starts MariaDB from the Debian package `mariadb-server`. As root, the data
 * directory belongs to the `mysql` system user and mariadbd runs as it, since
 * mariadbd refuses to run as root.
 *
 * @example
 * await using db = await startMariadb()
 * const connection = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database })
 */
export async function startMariadb(options: StartOptions = {}): Promise<MariadbServer> {
  const deadline = startDeadline(options)
  const tools = {
    installDb: find(['mariadb-install-db', 'mysql_install_db']),
    server: find(['mariadbd', 'mysqld']),
    client: find(['mariadb', 'mysql']),
  }
  const account = serviceAccount('mysql', PACKAGE)
  const dir = await makeServerDir('sockworker-mariadb-', account)
  const socket = join(dir, 'mysqld.sock')
  // Not narrowed to `undefined`: the port callback below assigns it.
  let server = undefined as ServerProcess | undefined
  try {
    await installDb(tools.installDb, dir, account, deadline)
    const port = await onFreePort(async (port) => {
      const args = [
        // --no-defaults first: the system's my.cnf points at /run/mysqld and port 3306.
        ['--no-defaults', `--datadir=${join(dir, 'data')}`, `--tmpdir=${dir}`],
        [`--socket=${socket}`, `--pid-file=${join(dir, 'mysqld.pid')}`],
        [`--port=${port}`, `--bind-address=${HOST}`],
        SERVER_OPTIONS,
      ].flat()
      server = spawnServer(tools.server, args, { account, cwd: dir })
      await waitUntil(() => handshake(port), { server, deadline })
      return port
    })
    const admin = (sql: string, timeout = 10_000): Promise<string> =>
      runTool(
        tools.client,
        ['--no-defaults', `--socket=${socket}`, '-u', 'root', '-N', '-B', '-e', sql],
        {
          cwd: dir,
          timeout,
        },
      )
    await admin(
      `CREATE DATABASE ${DATABASE}; ` +
        `CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}'; ` +
        `GRANT ALL PRIVILEGES ON ${DATABASE}.* TO '${USER}'@'%'; ` +
        // mariadb-install-db also makes password-less root@127.0.0.1, ::1 and <hostname>:
        // keep only root@localhost, which with --skip-name-resolve is the socket alone.
        `DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost'; ` +
        'FLUSH PRIVILEGES',
      deadline.left(),
    )
    return {
      host: HOST,
      port,
      user: USER,
      password: PASSWORD,
      database: DATABASE,
      dir,
      admin: (sql) => admin(sql),
      ...stoppable(server!, dir, 'SIGTERM', 10_000),
    }
  } catch (error) {
    const log = server?.tail()
    await server?.stop('SIGKILL', 0)
    await removeServerDir(dir)
    throw startFailure('MariaDB', dir, error, log)
  }
}

function find(names: string[]): string {
  return findBinary({ names, dirs: ['/usr/sbin', '/usr/bin'], debianPackage: PACKAGE })
}

async function installDb(
  installDb: string,
  dir: string,
  account: Account | undefined,
  deadline: Deadline,
): Promise<void> {
  const args = [
    ['--no-defaults', `--datadir=${join(dir, 'data')}`],
    // root@localhost without a password, for admin() over our socket: 'socket'
    // auth would tie it to the OS user, which is root in CI and not elsewhere.
    ['--auth-root-authentication-method=normal', '--skip-test-db'],
    SERVER_OPTIONS,
  ].flat()
  await runTool(installDb, args, { account, cwd: dir, timeout: deadline.left() })
}

/** Ready once a TCP connection gets the server's greeting (protocol version 10). */
function handshake(port: number): Promise<boolean> {
  // A packet is a 3-byte length, a sequence number, then the payload; an error starts 0xff.
  return probeTcp(port, { accept: (data) => (data.length < 5 ? undefined : data[4] === 0x0a) })
}
