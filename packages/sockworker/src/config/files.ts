/**
 * Schemas for keys that name files: the worker script, certificates and keys,
 * secrets kept in files. Paths are relative to the config file's directory.
 * The checks read the disk, so they run deferred and concurrently; the
 * schema returns at once with a `FileRef` that is filled in when the read is
 * done, and the caller uses its `text` only once the run has no issues.
 */
import { readFile, stat } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { describeFsError } from './errors.ts'
import { type Context, mismatch, type Path, type Schema, show } from './validate.ts'

/** A value known once its source is read: a secret from the environment has it at once. */
export interface TextRef {
  text: string
}

/** A file named in the config; `text` is set when `loaded` resolves to `true`. */
export interface FileRef extends TextRef {
  /** The path as written in the config. */
  readonly name: string
  /** The absolute path. */
  readonly path: string
  /** Resolves to whether the file was read and passed its check; never rejects. */
  readonly loaded: Promise<boolean>
}

/**
 * Reads `name` (relative to `dir`) in the background. A failure to read, or
 * a message from `check`, is reported at `path`.
 */
export function readFileRef(
  name: string,
  options: { dir: string; path: Path; ctx: Context; check?: (text: string) => string | undefined },
): FileRef {
  const { promise: loaded, resolve: settle } = Promise.withResolvers<boolean>()
  const ref: FileRef = { name, path: resolve(options.dir, name), text: '', loaded }
  let ok = false
  const work = readFile(ref.path, 'utf8').then(
    (text) => {
      const problem = options.check?.(text)
      if (problem !== undefined) return [{ path: options.path, message: problem }]
      ref.text = text
      ok = true
      return []
    },
    (error: unknown) => [
      {
        path: options.path,
        message: `cannot read ${where(name, ref.path)}: ${describeFsError(error)}`,
      },
    ],
  )
  options.ctx.defer(work.finally(() => settle(ok)))
  return ref
}

/**
 * A path to a text file that must be readable; `check` may reject its contents.
 *
 * @example
 * textFile('/etc/sockworker', { expected: 'a path to a PEM file' })
 */
export function textFile(
  dir: string,
  options: { expected?: string; check?: (text: string, name: string) => string | undefined } = {},
): Schema<FileRef> {
  const expected = options.expected ?? 'a path to a file'
  return {
    expected,
    check(value, path, ctx) {
      if (typeof value !== 'string' || value === '') return mismatch(ctx, path, value, expected)
      const check = options.check
      return readFileRef(value, {
        dir,
        path,
        ctx,
        ...(check && { check: (text: string) => check(text, value) }),
      })
    },
  }
}

const SCRIPT_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs']

/**
 * A path to a worker script that must exist. The result is the absolute path.
 *
 * @example
 * scriptFile('/srv/app') // accepts "echo/worker.ts", returns "/srv/app/echo/worker.ts"
 */
export function scriptFile(dir: string): Schema<string> {
  const expected = `a path to a ${SCRIPT_EXTENSIONS.join(', ').replace(/, ([^,]*)$/, ' or $1')} file`
  return {
    expected,
    check(value, path, ctx) {
      if (typeof value !== 'string' || !SCRIPT_EXTENSIONS.includes(extname(value))) {
        return mismatch(ctx, path, value, expected)
      }
      const absolute = resolve(dir, value)
      const named = where(value, absolute)
      ctx.defer(
        stat(absolute).then(
          (info) => (info.isFile() ? [] : [{ path, message: `${named} is not a file` }]),
          (error: unknown) => [
            { path, message: `cannot find ${named}: ${describeFsError(error)}` },
          ],
        ),
      )
      return absolute
    },
  }
}

/** Names a file as written and, when that was relative, where it was looked for. */
function where(name: string, absolute: string): string {
  return name === absolute ? show(name) : `${show(name)} (${absolute})`
}
