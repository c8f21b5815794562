/**
 * What a config problem looks like once it leaves the config layer, and how
 * the CLI prints it. A problem in the user's file is data, not an exception:
 * `loadConfig` collects every one so that a single run shows them all.
 */

/** One problem in a config file. */
export interface ConfigIssue {
  /** The config file as the caller named it, e.g. `sockworker.toml`. */
  file: string
  /** Where in the file, e.g. `workers[0].listeners[1].type`; `''` for the file as a whole. */
  path: string
  /** What is wrong and what is allowed, e.g. `"tpc" is not one of "tcp", "tls", "udp", "quic", "http"`. */
  message: string
  /** 1-based line, when known (TOML syntax errors). */
  line?: number
  /** 1-based column, when known (TOML syntax errors). */
  column?: number
  /** The lines around `line`, with a caret under the column, when known. */
  excerpt?: string
}

/**
 * Formats issues one per line, each starting with the file name, for the CLI.
 *
 * @example
 * formatIssues([{ file: 'sockworker.toml', path: 'workers[0].replicas', message: '0 is not an integer from 1 to 256' }])
 * // 'sockworker.toml: workers[0].replicas: 0 is not an integer from 1 to 256'
 */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map(formatIssue).join('\n')
}

function formatIssue(issue: ConfigIssue): string {
  const where =
    issue.line === undefined
      ? issue.file
      : `${issue.file}:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`
  const head =
    issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`
  if (issue.excerpt === undefined) return head
  const excerpt = issue.excerpt
    .replace(/\n+$/, '')
    .split('\n')
    .map((line) => `    ${line}`)
  return [head, ...excerpt].join('\n')
}

/** Describes a failed file-system call the way a person would, e.g. `no such file (ENOENT)`. */
export function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  const known: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a parent is not a directory',
  }
  if (typeof code === 'string') {
    const text = known[code]
    if (text !== undefined) return `${text} (${code})`
  }
  return error instanceof Error ? error.message : String(error)
}
