/**
 * Builds the quic-go echo peer (test/interop/quic-go-peer/main.go) offline,
 * from Debian's golang-go and golang-github-lucas-clemente-quic-go-dev
 * (GOPATH mode, no module downloads). The binary is cached in .tmp/ and
 * rebuilt when the source is newer.
 */
import { execFile } from 'node:child_process'
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')
const source = join(import.meta.dirname, 'quic-go-peer')

async function mtime(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.mtimeMs ?? 0
}

/** The path of the built peer. Building takes about a minute the first time. */
export async function quicGoPeer(): Promise<string> {
  const dir = join(root, '.tmp', 'quic-go')
  const binary = join(dir, 'quic-go-peer')
  if ((await mtime(binary)) > (await mtime(join(source, 'main.go')))) return binary
  await mkdir(dir, { recursive: true })
  const env = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: `${join(dir, 'gopath')}:/usr/share/gocode`,
    GOCACHE: join(dir, 'cache'),
  }
  try {
    await run('go', ['build', '-o', binary, '.'], { cwd: source, env, timeout: 300_000 })
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ''
    throw new Error(
      `Cannot build the quic-go peer: ${stderr.trim() || String(error)}. Install golang-go and golang-github-lucas-clemente-quic-go-dev`,
      { cause: error },
    )
  }
  return binary
}
