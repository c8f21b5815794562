/**
 * `npm run bench:startup`: what loading built JavaScript saves a replica.
 * Serves one echo worker (one replica) with `sockworker serve`, from the
 * TypeScript sources (type stripping at load) and from `dist/` (run
 * `npm run build` first), in alternating rounds so that drift on a shared
 * machine cancels out. It measures the time from spawn to the `ready` line,
 * and the replica's resident memory (VmRSS) once it has idled for a second.
 * Prints the medians and the ratios.
 *
 * @example
 * npm run build && npm run bench:startup -- --rounds 9
 * npm run bench:startup -- --ts   # a TypeScript worker
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { median } from './common.ts'

const root = new URL('../packages/sockworker/', import.meta.url).pathname
const sides = {
  sources: { main: join(root, 'src/cli/main.ts'), nodeOptions: '--conditions=sockworker-source' },
  dist: { main: join(root, 'dist/cli/main.js'), nodeOptions: '' },
} as const

interface Sample {
  /** From spawning the CLI to its ready line. */
  readyMs: number
  /** What serve itself logs: from the start of the serve command to ready. */
  serveMs: number
  rssMb: number
}

async function sample(side: keyof typeof sides, config: string): Promise<Sample> {
  const { main, nodeOptions } = sides[side]
  const started = performance.now()
  const child = spawn(process.execPath, [main, 'serve', '--config', config], {
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const ready = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk
      if (/ready .*ms=\d+/.test(output)) resolve(performance.now() - started)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', () => reject(new Error(`serve exited:\n${output}`)))
  })
  try {
    const readyMs = await ready
    const serveMs = Number(/ready .*ms=(\d+)/.exec(output)?.[1])
    const pid = /replica started pid=(\d+)/.exec(output)?.[1]
    if (pid === undefined) throw new Error(`No replica pid in:\n${output}`)
    await sleep(1000)
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1])
    return { readyMs, serveMs, rssMb: rssKb / 1024 }
  } finally {
    child.kill('SIGTERM')
  }
}

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, ts: { type: 'boolean', default: false } },
})
if (!existsSync(sides.dist.main)) throw new Error('No dist/: run "npm run build" first')
const dir = await mkdtemp(join(tmpdir(), 'sockworker-startup-'))
// A root supervisor runs its replicas as nobody, who must read the worker.
await chmod(dir, 0o755)
const config = join(dir, 'sockworker.toml')
// --ts: the worker itself is TypeScript, so a replica strips types either way.
const workerFile = values.ts ? 'echo.ts' : 'echo.js'
await writeFile(
  join(dir, workerFile),
  'export default { async connect(socket) { await socket.readable.pipeTo(socket.writable) } }\n',
)
await writeFile(
  config,
  `[log]\nformat = "pretty"\n\n[[workers]]\nname = "echo"\nscript = "${workerFile}"\nreplicas = 1\n\n[[workers.listeners]]\ntype = "tcp"\naddress = "127.0.0.1:0"\n`,
)
const results: Record<keyof typeof sides, Sample[]> = { sources: [], dist: [] }
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 === 0 ? (['sources', 'dist'] as const) : (['dist', 'sources'] as const)
    for (const side of order) results[side].push(await sample(side, config))
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
const figures = (side: keyof typeof sides) => ({
  readyMs: median(results[side].map((s) => s.readyMs)),
  serveMs: median(results[side].map((s) => s.serveMs)),
  rssMb: median(results[side].map((s) => s.rssMb)),
})
const [src, built] = [figures('sources'), figures('dist')]
console.log(`worker ${workerFile}, rounds: ${values.rounds} (median of each)`)
console.log(
  `serve → ready   sources ${src.readyMs.toFixed(0)} ms   dist ${built.readyMs.toFixed(0)} ms   dist/sources ${(built.readyMs / src.readyMs).toFixed(2)}`,
)
console.log(
  `serve's ms=    sources ${src.serveMs.toFixed(0)} ms   dist ${built.serveMs.toFixed(0)} ms   dist/sources ${(built.serveMs / src.serveMs).toFixed(2)}`,
)
console.log(
  `replica RSS     sources ${src.rssMb.toFixed(1)} MB   dist ${built.rssMb.toFixed(1)} MB   dist/sources ${(built.rssMb / src.rssMb).toFixed(2)}`,
)
