/**
 * Issue 4's figures: `pg` `SELECT 1` round trips per second from a worker
 * (pg's Workers path over our sockets), and through the tunnel, each against
 * the same pg code on plain node:net in the bench process, measured in the
 * same run against the same real PostgreSQL. Issue 12's kv figures
 * (`kv.ts`) come after them.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { type PgServer, startPostgres } from '../../test/servers/postgres.ts'
import type { Measurement, RunOptions, Scenario } from '../common.ts'
import { waitForOutput } from '../ready.ts'
import { kvScenarios } from './kv.ts'

const cli = new URL('../../packages/sockworker/src/cli/main.ts', import.meta.url).pathname
const worker = new URL('./pg-worker.ts', import.meta.url).pathname

const trips = (quick: boolean) => (quick ? 300 : 3000)

/** The same loop as the worker's, on node:net in this process. */
async function direct(server: PgServer, n: number): Promise<Measurement> {
  const client = new pg.Client({ connectionString: server.connectionString })
  await client.connect()
  try {
    for (let i = 0; i < 50; i++) await client.query('SELECT 1') // warm-up, as the worker gets
    const started = performance.now()
    for (let i = 0; i < n; i++) await client.query('SELECT 1')
    const seconds = (performance.now() - started) / 1000
    return { value: n / seconds, seconds }
  } finally {
    await client.end()
  }
}

/** Runs `sockworker serve` (and a tunnel, if asked) and asks the worker for its rate. */
async function fromWorker(server: PgServer, n: number, viaTunnel: boolean): Promise<Measurement> {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-bench-pg-'))
  const children: ChildProcess[] = []
  try {
    let tunnels = ''
    if (viaTunnel) {
      const tunnel = spawn(
        process.execPath,
        [cli, 'tunnel', 'serve', '--listen', '127.0.0.1:0', '--to', `127.0.0.1:${server.port}`],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      )
      children.push(tunnel)
      const [port] = await waitForOutput(tunnel, [/ready tunnel [\d.]+:(\d+)/])
      tunnels = `[[workers.tunnels]]\ntarget = "127.0.0.1:${server.port}"\nurl = "ws://127.0.0.1:${port}"\n`
    }
    const config = [
      '[log]',
      'level = "info"',
      '[[workers]]',
      'name = "pg"',
      `script = ${JSON.stringify(worker)}`,
      `vars = { DATABASE_URL = ${JSON.stringify(server.connectionString)} }`,
      '[workers.egress]',
      'allow = ["loopback"]',
      tunnels,
      '[[workers.listeners]]',
      'type = "http"',
      'address = "127.0.0.1:0"',
    ].join('\n')
    await writeFile(join(dir, 'sockworker.toml'), config)
    const serve = spawn(
      process.execPath,
      [cli, 'serve', '--config', join(dir, 'sockworker.toml')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    children.push(serve)
    const [port] = await waitForOutput(serve, [/"listener":"http [\d.]+:(\d+)"/])
    const ask = async (count: number) => {
      const response = await fetch(`http://127.0.0.1:${port}/rate?n=${count}`)
      if (!response.ok)
        throw new Error(`The worker answered ${response.status}: ${await response.text()}`)
      return (await response.json()) as { perSecond: number; seconds: number }
    }
    await ask(50) // connect and warm up
    const { perSecond, seconds } = await ask(n)
    return { value: perSecond, seconds }
  } finally {
    for (const child of children) child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
}

function pgScenario(meta: Omit<Scenario, 'baseline' | 'ours'>, viaTunnel: boolean): Scenario {
  const withServer =
    (measure: (server: PgServer, n: number) => Promise<Measurement>) =>
    async ({ quick }: RunOptions) => {
      const server = await startPostgres()
      try {
        return await measure(server, trips(quick))
      } finally {
        await server.stop()
      }
    }
  return {
    ...meta,
    baseline: withServer((server, n) => direct(server, n)),
    ours: withServer((server, n) => fromWorker(server, n, viaTunnel)),
  }
}

export const connectorScenarios: Scenario[] = [
  pgScenario(
    {
      name: 'pg-worker',
      figure: 'pg SELECT 1 from a worker (Workers path)',
      unit: 'trips/s',
      target: 0.95,
    },
    false,
  ),
  pgScenario(
    {
      name: 'pg-tunnel',
      figure: 'pg SELECT 1 from a worker, through the tunnel',
      unit: 'trips/s',
      target: 0.6,
    },
    true,
  ),
  ...kvScenarios,
]
