/**
 * `npm run bench:storage`: operations per second of the storage binding
 * from a worker under `sockworker serve`, on each backend: SQLite (a file),
 * Redis and PostgreSQL (real servers from test/servers, on loopback).
 * Figures: get and put with 1 and 16 in flight, and read-modify-write
 * transactions on one counter with 16 in flight (they serialise).
 * Medians of `--rounds` (default 5) rounds; `--quick` for a smoke run;
 * `--only sqlite|redis|postgres` (repeatable).
 *
 * On a shared machine the figures are noisy: compare them within one run.
 *
 * @example
 * npm run bench:storage -- --quick
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startPostgres } from '../../test/servers/postgres.ts'
import { startRedis } from '../../test/servers/redis.ts'
import { median } from '../common.ts'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string', multiple: true, default: [] },
  },
})
const rounds = values.quick ? 2 : Number(values.rounds)
const count = values.quick ? 300 : 3000
const main = fileURLToPath(new URL('../../packages/sockworker/src/cli/main.ts', import.meta.url))
const worker = fileURLToPath(new URL('worker.ts', import.meta.url))

const CASES = [
  { op: 'get', concurrency: 1 },
  { op: 'get', concurrency: 16 },
  { op: 'put', concurrency: 1 },
  { op: 'put', concurrency: 16 },
  { op: 'tx', concurrency: 16 },
] as const

/** Starts `sockworker serve` with one worker whose STORE is `binding`; resolves with its port. */
async function serve(dir: string, binding: string) {
  const toml = `[log]\nformat = "json"\nlevel = "info"\n[[workers]]\nname = "bench"
script = ${JSON.stringify(worker)}\nsecrets = { PW = { file = "pw.txt" } }\n[workers.storage]\nSTORE = ${binding}
[[workers.listeners]]\ntype = "tcp"\naddress = "127.0.0.1:0"\n`
  await writeFile(join(dir, 'sockworker.toml'), toml)
  const child = spawn(process.execPath, [main, 'serve', '--config', join(dir, 'sockworker.toml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 30_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"listener":"tcp [\d.]+:(\d+)"/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', () => reject(new Error(`serve exited:\n${output}`)))
  })
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

/** Asks the worker for one measured run; resolves with operations per second. */
function measure(port: number, op: string, concurrency: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () =>
      socket.write(`${op} ${count} ${concurrency}\n`),
    )
    let reply = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      reply += chunk
    })
    socket.once('error', reject)
    socket.once('close', () => {
      const ms = Number(reply.trim())
      if (!Number.isFinite(ms)) reject(new Error(`The worker answered ${JSON.stringify(reply)}`))
      else resolve((count / ms) * 1000)
    })
  })
}

const dir = await mkdtemp(join(tmpdir(), 'sockworker-bench-storage-'))
const [redis, pg] = await Promise.all([startRedis(), startPostgres()])
const backends = {
  sqlite: `{ path = ${JSON.stringify(join(dir, 'bench.sqlite'))} }`,
  redis: `{ url = ${JSON.stringify(redis.url)} }`,
  postgres: `{ url = ${JSON.stringify(`postgres://${pg.user}@${pg.host}:${pg.port}/${pg.database}`)}, password_secret = "PW" }`,
}
const rows: string[][] = []
try {
  await writeFile(join(dir, 'pw.txt'), pg.password)
  for (const [name, binding] of Object.entries(backends)) {
    if (values.only.length > 0 && !values.only.includes(name)) continue
    const served = await serve(dir, binding)
    try {
      await measure(served.port, 'put', 16) // warm up: connect, create, fill the keys
      for (const { op, concurrency } of CASES) {
        const runs: number[] = []
        for (let i = 0; i < rounds; i++) runs.push(await measure(served.port, op, concurrency))
        rows.push([name, op, String(concurrency), Math.round(median(runs)).toLocaleString('en')])
      }
    } finally {
      await served.stop()
    }
  }
} finally {
  await Promise.all([redis.stop(), pg.stop()])
  await rm(dir, { recursive: true, force: true })
}
console.log(`storage from a worker: ops/s, median of ${rounds} rounds of ${count} ops\n`)
console.log(['backend', 'op', 'in flight', 'ops/s'].join('\t'))
for (const row of rows) console.log(row.join('\t'))
