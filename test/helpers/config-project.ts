/**
 * A temporary project for the config tests: a directory with a worker
 * script and a secret file, and helpers that parse TOML text against it.
 * Shared by config/schema.test.ts and config/listener.test.ts; it imports
 * node:test, so it lives here rather than in src.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before } from 'node:test'
import { parseConfig } from '../../packages/sockworker/src/config/load.ts'
import type { LoadOptions, ResolvedConfig } from '../../packages/sockworker/src/config/types.ts'

export interface TestProject {
  /** The project directory; set once the `before` hook has run. */
  readonly dir: string
  /** The config, which must be accepted. */
  valid(toml: string, options?: LoadOptions): Promise<ResolvedConfig>
  /** The issues of a config that must be rejected, as `path: message` lines. */
  issues(toml: string, options?: LoadOptions): Promise<string[]>
}

/** Registers the hooks that make and remove the project; call at the top of a test file. */
export function useTestProject(prefix: string): TestProject {
  let dir = ''
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `sockworker-${prefix}-`))
    await mkdir(join(dir, 'echo'))
    await writeFile(join(dir, 'echo', 'worker.ts'), 'export default {}\n')
    await writeFile(join(dir, 'token.txt'), 's3cret\n')
  })
  after(() => rm(dir, { recursive: true, force: true }))
  const file = () => join(dir, 'sockworker.toml')
  return {
    get dir() {
      return dir
    },
    async valid(toml, options = {}) {
      const result = await parseConfig(toml, file(), options)
      if (!result.ok) assert.fail(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'))
      return result.config
    },
    async issues(toml, options = {}) {
      const result = await parseConfig(toml, file(), options)
      assert.equal(result.ok, false, 'expected the config to be rejected')
      if (result.ok) return []
      for (const error of result.errors) assert.equal(error.file, file())
      return result.errors.map((e) => `${e.path}: ${e.message}`)
    },
  }
}

/** One worker with a TCP listener; `extra` is appended inside [[workers]]. */
export function worker(name: string, address: string, extra = ''): string {
  return `[[workers]]\nname = "${name}"\nscript = "echo/worker.ts"\n${extra}\n[[workers.listeners]]\ntype = "tcp"\naddress = "${address}"\n`
}
