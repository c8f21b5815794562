/**
 * Issue 12's kv figure: `redis-benchmark -t set,get` against the kv example
 * (`examples/kv`, under `sockworker serve`, one replica, its SQLite file in a
 * temporary directory) and against a real redis-server, in the same run.
 * SET and GET are separate scenarios, so each has its own median and ratio.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startRedis } from '../../test/servers/redis.ts'
import type { Measurement, RunOptions, Scenario } from '../common.ts'
import { waitForOutput } from '../ready.ts'

const run = promisify(execFile)
const cli = new URL('../../packages/sockworker/src/cli/main.ts', import.meta.url).pathname
const worker = new URL('../../examples/kv/worker.ts', import.meta.url).pathname

type Command = 'set' | 'get'

/**
 * `redis-benchmark -t command` (50 clients, no pipelining: its defaults),
 * read from its `-q` line, e.g. "SET: 12345.67 requests per second".
 */
async function benchmark(port: number, command: Command, quick: boolean): Promise<Measurement> {
  const requests = quick ? 5000 : 50_000
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', command, '-n', String(requests), '-q']
  const started = performance.now()
  const { stdout } = await run('redis-benchmark', args, { timeout: 120_000 })
  const seconds = (performance.now() - started) / 1000
  const rate = /(?:SET|GET): ([\d.]+) requests per second/.exec(stdout)?.[1]
  if (rate === undefined) throw new Error(`redis-benchmark printed no rate:\n${stdout}`)
  return { value: Number(rate), seconds }
}

/** redis-server, with nothing persisted (as the test fixture starts it). */
async function againstRedis(command: Command, { quick }: RunOptions): Promise<Measurement> {
  await using server = await startRedis()
  // GET measures hits: the SET pass fills the keys, as for ours.
  if (command === 'get') await benchmark(server.port, 'set', true)
  return await benchmark(server.port, command, quick)
}

/** `sockworker serve` with the kv example, one replica, a fresh SQLite file. */
async function againstKv(command: Command, { quick }: RunOptions): Promise<Measurement> {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-bench-kv-'))
  let serve: ChildProcess | undefined
  try {
    const config = [
      '[[workers]]',
      'name = "kv"',
      `script = ${JSON.stringify(worker)}`,
      '[workers.storage]',
      `STORE = { path = ${JSON.stringify(join(dir, 'kv.sqlite'))} }`,
      '[[workers.listeners]]',
      'type = "tcp"',
      'address = "127.0.0.1:0"',
    ].join('\n')
    await writeFile(join(dir, 'sockworker.toml'), config)
    serve = spawn(process.execPath, [cli, 'serve', '--config', join(dir, 'sockworker.toml')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const [port] = await waitForOutput(serve, [/"listener":"tcp [\d.]+:(\d+)"/])
    await benchmark(Number(port), 'set', true) // warm-up, and the keys GET reads
    return await benchmark(Number(port), command, quick)
  } finally {
    serve?.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
}

const kvScenario = (command: Command): Scenario => ({
  name: `kv-${command}`,
  figure: `kv example vs redis-server, redis-benchmark ${command.toUpperCase()} (50 clients)`,
  unit: 'ops/s',
  target: 0.5,
  baseline: (options) => againstRedis(command, options),
  ours: (options) => againstKv(command, options),
})

export const kvScenarios: Scenario[] = [kvScenario('set'), kvScenario('get')]
