/**
 * `npm run bench:startup`: what a replica costs to start. Serves one echo
 * worker (one replica) with `sockworker serve`, from the TypeScript sources
 * (type stripping at load) and from `dist/` (run `npm run build` first),
 * and with `--before DIR` also from an older build: a folder holding
 * `packages/sockworker/dist` and `packages/sockets/dist` with a
 * `node_modules` that resolves `@sockworker/sockets` to that copy. Sides
 * run in alternating rounds so that drift on a shared machine cancels out.
 * It measures the time from spawn to the `ready` line, and the resident
 * memory (VmRSS) of the supervisor and of the replica once they have idled
 * for a second. Prints the medians and the ratios to `dist`.
 *
 * @example
 * npm run build && npm run bench:startup -- --rounds 9
 * npm run bench:startup -- --ts   # a TypeScript worker
 * npm run bench:startup -- --before /tmp/ab/before
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { median } from './common.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ts: { type: 'boolean', default: false },
    before: { type: 'string' },
  },
})

const root = new URL('../packages/sockworker/', import.meta.url).pathname
interface Side {
  main: string
  nodeOptions: string
}
const sides: Record<string, Side> = {
  sources: { main: join(root, 'src/cli/main.ts'), nodeOptions: '--conditions=sockworker-source' },
  dist: { main: join(root, 'dist/cli/main.js'), nodeOptions: '' },
}
if (values.before !== undefined) {
  sides['before'] = {
    main: join(values.before, 'packages/sockworker/dist/cli/main.js'),
    nodeOptions: '',
  }
}
for (const [name, { main }] of Object.entries(sides)) {
  if (!existsSync(main)) {
    throw new Error(`No ${main} for "${name}": run "npm run build" first, or fix --before`)
  }
}

interface Sample {
  /** From spawning the CLI to its ready line. */
  readyMs: number
  /** What serve itself logs: from the start of the serve command to ready. */
  serveMs: number
  supervisorMb: number
  replicaMb: number
}

async function sample(side: Side, config: string): Promise<Sample> {
  const started = performance.now()
  const child = spawn(process.execPath, [side.main, 'serve', '--config', config], {
    env: { ...process.env, NODE_OPTIONS: side.nodeOptions },
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
    return {
      readyMs,
      serveMs,
      supervisorMb: await rssMb(child.pid ?? 0),
      replicaMb: await rssMb(Number(pid)),
    }
  } finally {
    child.kill('SIGTERM')
  }
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024
}

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
const names = Object.keys(sides)
const results = new Map<string, Sample[]>(names.map((name) => [name, []]))
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const name of round % 2 === 0 ? names : names.toReversed())
      results.get(name)!.push(await sample(sides[name]!, config))
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
const figure = (name: string, key: keyof Sample) => median(results.get(name)!.map((s) => s[key]))
console.log(`worker ${workerFile}, ${values.rounds} rounds, medians; ratio to dist in brackets`)
const rows: Array<[string, keyof Sample, string]> = [
  ['spawn → ready', 'readyMs', 'ms'],
  ["serve's ms=", 'serveMs', 'ms'],
  ['supervisor RSS', 'supervisorMb', 'MB'],
  ['replica RSS', 'replicaMb', 'MB'],
]
for (const [label, key, unit] of rows) {
  const dist = figure('dist', key)
  const cells = names.map((name) => {
    const value = figure(name, key)
    return `${name} ${value.toFixed(unit === 'ms' ? 0 : 1)} ${unit} (${(value / dist).toFixed(2)})`
  })
  console.log(`${label.padEnd(15)} ${cells.join('   ')}`)
}
