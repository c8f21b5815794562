/**
 * Starts the two echo servers the runtime benchmarks compare, each in its
 * own processes, and reports their port, process ids and start-up time.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitForOutput } from '../ready.ts'

const cli = new URL('../../packages/sockworker/src/cli/main.ts', import.meta.url).pathname
const baselineScript = new URL('./echo-baseline.ts', import.meta.url).pathname
const worker = new URL('./echo-worker.ts', import.meta.url).pathname

export interface EchoServer {
  port: number
  /** Every process serving, for memory figures. */
  pids: number[]
  /** From spawn to the ready line. */
  startMs: number
  stop(): Promise<void>
}

export async function startBaseline(): Promise<EchoServer> {
  const started = performance.now()
  const child = spawn(process.execPath, [baselineScript], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [port] = await waitForOutput(child, [/ready tcp [\d.]+:(\d+)/])
  return {
    port: Number(port),
    pids: [child.pid ?? 0],
    startMs: performance.now() - started,
    stop: () => stop(child),
  }
}

export async function startSockworker(): Promise<EchoServer> {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-bench-'))
  const config = join(dir, 'sockworker.toml')
  await writeFile(
    config,
    [
      '[log]',
      'level = "info"',
      '[[workers]]',
      'name = "echo"',
      `script = ${JSON.stringify(worker)}`,
      '[workers.limits]',
      'max_connections = 100000',
      'drain_timeout_ms = 1000',
      '[[workers.listeners]]',
      'type = "tcp"',
      'address = "127.0.0.1:0"',
    ].join('\n'),
  )
  const started = performance.now()
  const child = spawn(process.execPath, [cli, 'serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [replica, port] = await waitForOutput(child, [
    /"msg":"replica started"[^\n]*"pid":(\d+)/,
    /"msg":"ready","listener":"tcp [\d.]+:(\d+)"/,
  ])
  return {
    port: Number(port),
    pids: [child.pid ?? 0, Number(replica)],
    startMs: performance.now() - started,
    stop: async () => {
      await stop(child)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Resident memory of `pids`, summed, in bytes (Linux /proc). */
export async function residentBytes(pids: number[]): Promise<number> {
  let total = 0
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
    total += Number(kib ?? 0) * 1024
  }
  return total
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
  })
}
