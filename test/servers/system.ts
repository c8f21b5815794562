/**
 * What the database fixtures need from the machine: the servers' binaries
 * (installed from Debian by `npm run setup`), the system user a server runs as
 * when we are root, and temporary directories that user can use.
 *
 * Why a system user: CI runs as root, and PostgreSQL and MariaDB refuse to run
 * as root. The Debian packages create `postgres` and `mysql` users, so as root
 * the fixtures hand the temporary directory to that user and spawn the server
 * with its uid and gid (libuv also drops root's supplementary groups). As any
 * other user, the server simply runs as us.
 */
import { execFileSync } from 'node:child_process'
import { accessSync, constants, readdirSync, rmSync } from 'node:fs'
import { chown, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'

/** A system user to run a server as. */
export interface Account {
  name: string
  uid: number
  gid: number
}

/** Where to look for a binary, and the Debian package that installs it. */
export interface BinarySearch {
  /** Candidate names, best first (`['mariadbd', 'mysqld']`). */
  names: string[]
  /** Directories searched before `PATH` (Debian keeps daemons in /usr/sbin). */
  dirs?: string[]
  /** Named in the error when nothing is found. */
  debianPackage: string
}

/**
 * The absolute path of the first binary found, or a thrown error that says
 * which Debian package to install.
 *
 * @example
 * const redis = findBinary({ names: ['redis-server'], debianPackage: 'redis-server' })
 */
export function findBinary(search: BinarySearch): string {
  const path = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean)
  const dirs = [...(search.dirs ?? []), ...path]
  for (const name of search.names) {
    for (const dir of dirs) {
      const file = join(dir, name)
      try {
        accessSync(file, constants.X_OK)
        return file
      } catch {}
    }
  }
  throw new Error(
    `Cannot find "${search.names.join('" or "')}": install the Debian package ` +
      `"${search.debianPackage}" (npm run setup does it).`,
  )
}

/**
 * Debian's PostgreSQL binaries (`initdb`, `postgres`...) are not on `PATH`:
 * they live in /usr/lib/postgresql/<major>/bin. The newest major wins.
 *
 * @example
 * const initdb = findBinary({ names: ['initdb'], dirs: postgresBinDirs(), debianPackage: 'postgresql' })
 */
export function postgresBinDirs(): string[] {
  const root = '/usr/lib/postgresql'
  let majors: string[] = []
  try {
    majors = readdirSync(root).filter((name) => /^\d+$/.test(name))
  } catch {}
  return majors.sort((a, b) => Number(b) - Number(a)).map((major) => join(root, major, 'bin'))
}

/**
 * The system user to run a server as: `undefined` unless we are root, since
 * then the server runs as us. Throws when we are root and the user is missing.
 *
 * @example
 * const account = serviceAccount('postgres', 'postgresql') // undefined when not root
 */
export function serviceAccount(name: string, debianPackage: string): Account | undefined {
  if (process.getuid?.() !== 0) return undefined
  let entry = ''
  try {
    entry = execFileSync('getent', ['passwd', name], { encoding: 'utf8' })
  } catch {}
  const [, , uid, gid] = entry.trim().split(':')
  if (uid === undefined || gid === undefined) {
    throw new Error(
      `Cannot run the "${debianPackage}" server as root and there is no "${name}" system user ` +
        `to run it as: install the Debian package "${debianPackage}", or run as a non-root user.`,
    )
  }
  return { name, uid: Number(uid), gid: Number(gid) }
}

// Removed on exit if a test process ends before a server's stop() runs. The
// hook is added on first use, so it runs after process.ts has killed the servers.
const liveDirs = new Set<string>()
let exitHook = false
function removeOnExit(dir: string): void {
  liveDirs.add(dir)
  if (exitHook) return
  exitHook = true
  process.once('exit', () => {
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true })
  })
}

/**
 * A fresh temporary directory, owned by `account` when given.
 *
 * @example
 * const dir = await makeServerDir('sockworker-pg-', account)
 */
export async function makeServerDir(prefix: string, account?: Account): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  removeOnExit(dir)
  if (account === undefined) return dir
  try {
    await chown(dir, account.uid, account.gid)
    await assertReachable(dir, account)
  } catch (error) {
    await removeServerDir(dir)
    throw error
  }
  return dir
}

/**
 * Removes a directory made by `makeServerDir`. Harmless when it is gone.
 *
 * @example
 * await removeServerDir(dir)
 */
export async function removeServerDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  liveDirs.delete(dir)
}

/** Every ancestor of `dir` must let `account` through, or the server cannot reach its files. */
async function assertReachable(dir: string, account: Account): Promise<void> {
  for (let parent = dirname(dir); ; parent = dirname(parent)) {
    const info = await stat(parent)
    const mask = info.uid === account.uid ? 0o100 : info.gid === account.gid ? 0o010 : 0o001
    if ((info.mode & mask) === 0) {
      throw new Error(
        `Cannot give "${dir}" to the "${account.name}" user: it may not enter "${parent}". ` +
          'Set TMPDIR to a directory every user can enter, such as /tmp.',
      )
    }
    if (parent === dirname(parent)) return
  }
}
