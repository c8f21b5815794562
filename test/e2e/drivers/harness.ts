/**
 * What the driver e2e tests share: a `[[workers]]` table with one HTTP
 * listener (the fixtures answer JSON from a `fetch` handler), and a JSON
 * GET over a fresh TCP connection each time, so that whatever a worker
 * reuses between requests lives in the worker, not in an HTTP keep-alive.
 */
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'

/**
 * The absolute path of a worker fixture in this folder, for a config's `script`.
 *
 * @example
 * httpWorkerToml({ name: 'pg', script: driverFixture('pg.ts') })
 */
export function driverFixture(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url))
}

/** One worker of a `sockworker serve` config, with an HTTP listener on a free port. */
export interface HttpWorker {
  name: string
  script: string
  /** Default: the runtime's default (`workerd`). */
  compatibility?: 'workerd' | 'node'
  vars?: Record<string, string>
  /** Secrets read from files: name → absolute path. */
  secretFiles?: Record<string, string>
  /** Default: the `serve` default (allow public only). */
  allow?: string[]
}

/**
 * A TOML `[[workers]]` table for `worker`.
 *
 * @example
 * const toml = jsonLog + httpWorkerToml({ name: 'pg', script, allow: [`127.0.0.1:${port}`] })
 */
export function httpWorkerToml(worker: HttpWorker): string {
  const table = (entries: [string, string][]) =>
    `{ ${entries.map(([k, v]) => `${k} = ${v}`).join(', ')} }`
  const lines = [
    '[[workers]]',
    `name = ${JSON.stringify(worker.name)}`,
    `script = ${JSON.stringify(worker.script)}`,
  ]
  if (worker.compatibility !== undefined) {
    lines.push(`compatibility = ${JSON.stringify(worker.compatibility)}`)
  }
  const vars = Object.entries(worker.vars ?? {})
  if (vars.length > 0) lines.push(`vars = ${table(vars.map(([k, v]) => [k, JSON.stringify(v)]))}`)
  const secrets = Object.entries(worker.secretFiles ?? {})
  if (secrets.length > 0) {
    lines.push(
      `secrets = ${table(secrets.map(([k, file]) => [k, `{ file = ${JSON.stringify(file)} }`]))}`,
    )
  }
  // A short drain keeps `stop()` quick should a request still be open.
  lines.push('[workers.limits]', 'drain_timeout_ms = 2000')
  if (worker.allow !== undefined) {
    lines.push('[workers.egress]', `allow = ${JSON.stringify(worker.allow)}`)
  }
  lines.push('[[workers.listeners]]', 'type = "http"', 'address = "127.0.0.1:0"', '')
  return lines.join('\n')
}

/** A JSON reply: its status and parsed body. */
export interface JsonReply {
  status: number
  body: Record<string, unknown>
}

/**
 * GETs `path` from the worker on `port` over a new connection and parses the
 * JSON reply. Rejects after `timeoutMs`.
 *
 * @example
 * const { status, body } = await getJson(port, '/query?n=41')
 */
export function getJson(port: number, path: string, timeoutMs = 10_000): Promise<JsonReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs })
    req.once('timeout', () =>
      req.destroy(new Error(`No reply to GET ${path} on port ${port} within ${timeoutMs} ms`)),
    )
    req.once('error', reject)
    req.once('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.once('error', reject)
      res.once('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) })
        } catch {
          reject(new Error(`GET ${path} answered ${res.statusCode} with non-JSON: ${text}`))
        }
      })
    })
    req.end()
  })
}
