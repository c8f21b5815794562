/**
 * A `sockworker serve` for the overload and soak benches: the echo example
 * worker behind the listeners a bench asks for, on loopback ports the system
 * picks, with its metrics endpoint; plus the resident memory of the
 * supervisor and its replicas, read from /proc.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { within } from '../../test/helpers/timers.ts'

const main = new URL('../../packages/sockworker/src/cli/main.ts', import.meta.url).pathname
export const echoWorker = new URL('../../examples/echo/worker.ts', import.meta.url).pathname

export interface ServeOptions {
  /** `[[workers.listeners]]` bodies, each without its table header; `address` is added. */
  listeners: string[]
  /** `[workers.limits]` keys. */
  limits?: Record<string, number>
  replicas?: number
}

export interface Served extends AsyncDisposable {
  /** The bound port of each listener, in order. */
  ports: number[]
  metricsUrl: string
  /** The supervisor's pid, then the replicas'. */
  pids: number[]
  /** Supervisor + replicas, in MiB. */
  rssMb(): Promise<number>
  /** The worker's figures: metric name (without `sockworker_`) → value. */
  metrics(): Promise<Record<string, number>>
}

let certLines: string | undefined

/**
 * `cert = …` and `key = …` lines for a TLS listener: a throwaway
 * self-signed certificate for localhost, made once per process with openssl.
 */
export function benchTls(): string {
  if (certLines !== undefined) return certLines
  const dir = mkdtempSync(join(tmpdir(), 'sockworker-bench-cert-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const cert = join(dir, 'server.crt')
  const key = join(dir, 'server.key')
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-days', '2'],
      ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  )
  certLines = `cert = ${JSON.stringify(cert)}\nkey = ${JSON.stringify(key)}`
  return certLines
}

/**
 * @example
 * await using served = await serveEcho({ listeners: ['type = "tcp"'] })
 */
export async function serveEcho(options: ServeOptions): Promise<Served> {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-overload-'))
  const limits = Object.entries({ drain_timeout_ms: 1000, ...options.limits })
  const toml = [
    '[log]',
    'format = "json"',
    'level = "info"',
    '[metrics]',
    'listen = "127.0.0.1:0"',
    '[[workers]]',
    'name = "echo"',
    `script = ${JSON.stringify(echoWorker)}`,
    `replicas = ${options.replicas ?? 2}`,
    '[workers.limits]',
    ...limits.map(([key, value]) => `${key} = ${value}`),
    ...options.listeners.flatMap((body) => [
      '[[workers.listeners]]',
      'address = "127.0.0.1:0"',
      body,
    ]),
  ].join('\n')
  await writeFile(join(dir, 'sockworker.toml'), `${toml}\n`)
  const child = spawn(process.execPath, [main, 'serve', '--config', join(dir, 'sockworker.toml')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines = collectLogLines(child)
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await within(exited, 15_000, 'serve to stop').catch(() => child.kill('SIGKILL'))
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const expected = options.listeners.length + 1
    const ready = await within(
      lines.until((all) => all.filter((line) => line.msg === 'ready').length >= expected),
      30_000,
      'serve to get ready',
    )
    const replicas = options.replicas ?? 2
    const started = await within(
      lines.until((all) => all.filter((line) => line.msg === 'replica started').length >= replicas),
      30_000,
      'the replicas to start',
    )
    const listeners = ready.filter((line) => line.msg === 'ready').map((line) => line.listener)
    const metricsUrl = listeners
      .find((name) => name.startsWith('metrics '))
      ?.slice('metrics '.length)
    if (metricsUrl === undefined) throw new Error('serve printed no metrics ready line')
    const ports = listeners
      .filter((name) => !name.startsWith('metrics '))
      .map((name) => Number(/:(\d+)$/.exec(name)?.[1]))
    const pids = [
      child.pid ?? 0,
      ...started.filter((line) => line.msg === 'replica started').map((line) => Number(line.pid)),
    ]
    return {
      ports,
      metricsUrl,
      pids,
      rssMb: async () => (await Promise.all(pids.map(rssKb))).reduce((a, b) => a + b, 0) / 1024,
      metrics: () => scrape(metricsUrl),
      [Symbol.asyncDispose]: stop,
    }
  } catch (error) {
    await stop()
    throw new Error(`${(error as Error).message}\n${lines.text()}`)
  }
}

interface LogLine {
  msg?: string
  listener: string
  pid?: number
}

function collectLogLines(child: ChildProcess) {
  let text = ''
  const parsed: LogLine[] = []
  let wake = () => {}
  const onData = (chunk: Buffer) => {
    text += chunk.toString()
    let newline = text.indexOf('\n')
    while (newline !== -1) {
      const line = text.slice(0, newline)
      text = text.slice(newline + 1)
      if (line.startsWith('{')) {
        try {
          parsed.push(JSON.parse(line) as LogLine)
        } catch {}
      }
      newline = text.indexOf('\n')
    }
    wake()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  return {
    text: () => JSON.stringify(parsed.slice(-20), null, 1) + text,
    async until(ok: (all: LogLine[]) => boolean): Promise<LogLine[]> {
      while (!ok(parsed)) {
        if (child.exitCode !== null) throw new Error(`serve exited (${child.exitCode})`)
        await new Promise<void>((resolve) => {
          wake = resolve
          child.once('exit', () => resolve())
        })
      }
      return parsed
    },
  }
}

async function rssKb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  } catch {
    return 0 // a replica that exited (and was replaced) is not counted
  }
}

async function scrape(url: string): Promise<Record<string, number>> {
  const response = await fetch(url)
  const figures: Record<string, number> = {}
  for (const line of (await response.text()).split('\n')) {
    const match = /^sockworker_(\w+)\{worker="echo"\} (\S+)$/.exec(line)
    if (match?.[1] !== undefined) figures[match[1]] = Number(match[2])
  }
  return figures
}
