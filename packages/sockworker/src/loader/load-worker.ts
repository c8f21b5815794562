/**
 * Loads a worker module and normalises the two handler forms, the module
 * form (`export default { connect, fetch }`) and the service-worker form
 * (`addEventListener('connect', …)`), into one `WorkerHandlers`. Returns a
 * result instead of throwing: a broken worker is the user's error, and the
 * caller decides how to show it.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { eventHandlers } from './event-handlers.ts'
import type { WorkerHandlers } from './handlers.ts'
import { workerEvents } from './worker-events.ts'

export type LoadResult = { ok: true; handlers: WorkerHandlers } | { ok: false; error: string }

export async function loadWorker(file: string): Promise<LoadResult> {
  let module: { default?: unknown }
  try {
    module = await import(pathToFileURL(file).href)
  } catch (error) {
    return { ok: false, error: describeLoadError(error, file) }
  }
  const exported = module.default
  if (exported !== undefined && exported !== null && typeof exported === 'object') {
    const { connect, fetch } = exported as Record<string, unknown>
    if (typeof connect === 'function' || typeof fetch === 'function') {
      const handlers: WorkerHandlers = {}
      if (typeof connect === 'function')
        handlers.connect = connect.bind(exported) as WorkerHandlers['connect'] & {}
      if (typeof fetch === 'function')
        handlers.fetch = fetch.bind(exported) as WorkerHandlers['fetch'] & {}
      return { ok: true, handlers }
    }
  }
  if (workerEvents.has('connect') || workerEvents.has('fetch'))
    return { ok: true, handlers: eventHandlers() }
  return {
    ok: false,
    error: `${file} has no handler: write "export default { async connect(socket, env, ctx) { … } }" or call addEventListener('connect', (event) => { … })`,
  }
}

/**
 * The error, with the file and line. Node gives no location for a syntax
 * error met by `import()`, so the entry file is checked again with
 * `node --check`, whose report has the line, the code and a caret. For an
 * error thrown while the module runs, the first stack frame in the user's
 * files says where.
 */
function describeLoadError(error: unknown, file: string): string {
  if (!(error instanceof Error)) return `Cannot load ${file}: ${String(error)}`
  const head = `Cannot load ${file}:`
  const lines = (error.stack ?? '').split('\n')
  // TypeScript syntax errors come with "path:line", the code and a caret first.
  if (/^(file:\/\/)?\/.*:\d+$/.test(lines[0] ?? '')) return [head, ...located(lines)].join('\n')
  if (error.name === 'SyntaxError' && /\.m?js$/.test(file)) {
    const checked = checkSyntax(file)
    if (checked !== undefined) return `${head}\n${checked}`
  }
  const frame = lines.find(
    (line) => /^\s+at /.test(line) && !/node:|\/sockworker\/(src|dist)\//.test(line),
  )
  return [head, `${error.name}: ${error.message}`, ...(frame ? [frame.trim()] : [])].join('\n')
}

/**
 * A worker's `.js` is a module whatever its package.json says (see
 * hooks.ts), so it is checked as one: fed on standard input with
 * `--input-type=module`, and the report's "[stdin]" named back to the file.
 */
function checkSyntax(file: string): string | undefined {
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  const result = spawnSync(process.execPath, ['--input-type=module', '--check'], {
    input: source,
    encoding: 'utf8',
    timeout: 10_000,
  })
  if (result.status === 0 || !result.stderr) return undefined
  const report = result.stderr.replaceAll('[stdin]', file)
  return located(report.split('\n')).join('\n')
}

/** "path:line", the code, the caret and the error line of a Node syntax report. */
function located(report: string[]): string[] {
  const end = report.findIndex((line) => /^\w*Error\b/.test(line))
  return report
    .slice(0, end === -1 ? 4 : end + 1)
    .filter((line) => line.trim() !== '')
    .map((line) =>
      line.startsWith('file://')
        ? fileURLToPath(line.replace(/:\d+$/, '')) + line.slice(line.lastIndexOf(':'))
        : line,
    )
}
