/**
 * `loadConfig`: reads `sockworker.toml`, validates all of it against the one
 * schema, reads the files it names, and returns either the resolved config
 * or every problem found. A user's mistake is a result, not an exception
 * (as in srvx and miniflare), so the CLI can print them all and exit non-zero.
 */
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { parse, TomlError } from 'smol-toml'
import { type ConfigIssue, describeFsError } from './errors.ts'

export { type ConfigIssue, formatIssues } from './errors.ts'

import { resolveConfig } from './resolve.ts'
import { configSchema } from './schema.ts'
import type { LoadOptions, LoadResult } from './types.ts'
import { Context, formatPath, INVALID } from './validate.ts'

/**
 * Loads and validates a config file. Relative paths in it are relative to
 * its directory. Never rejects for a problem in the file or the files it
 * names; those come back as `{ ok: false, errors }`.
 *
 * @example
 * const result = await loadConfig('sockworker.toml')
 * if (!result.ok) {
 *   console.error(formatIssues(result.errors))
 *   process.exitCode = 1
 * }
 */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadResult> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const message = `cannot read the config file: ${describeFsError(error)}; pass --config FILE to use another`
    return { ok: false, errors: [{ file, path: '', message }] }
  }
  return parseConfig(text, file, options)
}

/**
 * Validates config text as if read from `file` (which sets the directory for
 * relative paths, and the name in messages).
 *
 * @example
 * await parseConfig('[[workers]]\nname = "echo"\n…', '/srv/app/sockworker.toml')
 */
export async function parseConfig(
  text: string,
  file: string,
  options: LoadOptions = {},
): Promise<LoadResult> {
  let data: unknown
  try {
    data = parse(text)
  } catch (error) {
    return { ok: false, errors: [syntaxIssue(file, error)] }
  }
  const ctx = new Context()
  const schema = configSchema({ ...options, dir: dirname(resolve(file)) })
  const checked = schema.check(data, [], ctx)
  const issues = await ctx.settle()
  if (issues.length > 0 || checked === INVALID) {
    const errors = issues.map((issue) => ({
      file,
      path: formatPath(issue.path),
      message: issue.message,
    }))
    return { ok: false, errors }
  }
  return { ok: true, config: resolveConfig(checked) }
}

function syntaxIssue(file: string, error: unknown): ConfigIssue {
  if (!(error instanceof TomlError)) throw error
  // smol-toml puts the excerpt after the first line of its message; keep them apart.
  const message = error.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '')
  return {
    file,
    path: '',
    message: `invalid TOML: ${message}`,
    line: error.line,
    column: error.column,
    excerpt: error.codeblock,
  }
}
