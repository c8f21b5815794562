/**
 * What a user does: `npm pack` both packages (which builds them through
 * `prepack`), `npm init -y` a project in a temp directory, and install the
 * tarballs there. Dependencies such as smol-toml and ws come from the
 * registry. Nothing in the project can reach the repository's sources.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const repo = fileURLToPath(new URL('../../', import.meta.url))
export const repoBin = (name: string) => join(repo, 'node_modules', '.bin', name)

/**
 * The user's environment: our Node first on PATH, and none of the settings
 * that the repository's own npm scripts add (the `sockworker-source`
 * condition would send the installed package to sources it does not ship).
 */
export function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key.startsWith('npm_') || key === 'INIT_CWD') continue
    env[key] = value
  }
  env['PATH'] = [dirname(process.execPath), env['PATH'] ?? ''].join(delimiter)
  return env
}

/** Runs a command to completion; a non-zero exit rejects with its output. */
export async function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs?: number },
): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, {
      cwd: options.cwd,
      env: userEnv(),
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
    })
    return stdout
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout}\n${stderr}`, { cause: error })
  }
}

export interface InstalledProject extends AsyncDisposable {
  dir: string
  tarballs: { sockets: string; sockworker: string }
}

/** Packs both packages and installs them into a fresh `npm init -y` project. */
export async function installPacked(): Promise<InstalledProject> {
  const root = await mkdtemp(join(tmpdir(), 'sockworker-packaging-'))
  const packed = join(root, 'tarballs')
  const dir = join(root, 'project')
  await mkdir(packed)
  await mkdir(dir)
  await run(
    'npm',
    ['pack', '-w', 'packages/sockets', '-w', 'packages/sockworker', '--pack-destination', packed],
    { cwd: repo, timeoutMs: 180_000 },
  )
  const files = await readdir(packed)
  const find = (prefix: string) => {
    const file = files.find((name) => name.startsWith(prefix) && name.endsWith('.tgz'))
    if (file === undefined) throw new Error(`npm pack made no ${prefix}*.tgz in ${packed}`)
    return join(packed, file)
  }
  const tarballs = { sockets: find('sockworker-sockets-'), sockworker: find('sockworker-0') }
  await run('npm', ['init', '-y'], { cwd: dir })
  await run('npm', ['install', '--no-audit', '--no-fund', tarballs.sockets, tarballs.sockworker], {
    cwd: dir,
    timeoutMs: 300_000,
  })
  return {
    dir,
    tarballs,
    [Symbol.asyncDispose]: () => rm(root, { recursive: true, force: true }),
  }
}
