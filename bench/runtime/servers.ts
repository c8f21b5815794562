/**
 * Starts the echo servers the runtime benchmarks compare, each in its own
 * processes on the server's core, and reports their port, process ids and
 * start-up time (from spawn to the first echoed byte):
 *
 * - the baseline, a hand-written `node:net` echo (`c.pipe(c)`);
 * - ours, `sockworker serve` with one replica of the echo worker, from
 *   `dist/` as `npm start` runs it (built once per benchmark run);
 * - the peers users would pick instead: workerd serving the same echo
 *   worker, and Bun's raw echo.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { within } from '../../test/helpers/timers.ts'
import { workerdConfig } from '../../test/workerd/workerd.ts'
import { waitForOutput } from '../ready.ts'
import { onServerCore } from './pin.ts'

const root = new URL('../../', import.meta.url).pathname
const cli = join(root, 'packages/sockworker/dist/cli/main.js')
const baselineScript = new URL('./echo-baseline.js', import.meta.url).pathname
const bunScript = new URL('./echo-bun.js', import.meta.url).pathname
const worker = new URL('./echo-worker.js', import.meta.url).pathname

export interface EchoServer {
  port: number
  /** Every process serving, for CPU and memory figures. */
  pids: number[]
  /** From spawn to the first byte echoed back on a new connection. */
  startMs: number
  stop(): Promise<void>
}

export type StartServer = () => Promise<EchoServer>

export const startBaseline: StartServer = () => startPrinting(process.execPath, [baselineScript])

export const startBun: StartServer = () =>
  startPrinting(join(root, 'node_modules/.bin/bun'), [bunScript])

/** A server that prints `ready tcp host:port` once it listens. */
async function startPrinting(command: string, args: string[]): Promise<EchoServer> {
  const started = performance.now()
  const child = spawnServer(command, args)
  try {
    const [port] = await waitForOutput(child, [/ready tcp [\d.]+:(\d+)/])
    await echoOnce(Number(port))
    return served(child, Number(port), [], started)
  } catch (error) {
    await stop(child)
    throw error
  }
}

export const startSockworker: StartServer = async () => {
  await built()
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
      'replicas = 1',
      '[workers.limits]',
      'max_connections = 100000',
      'drain_timeout_ms = 1000',
      '[[workers.listeners]]',
      'type = "tcp"',
      'address = "127.0.0.1:0"',
    ].join('\n'),
  )
  const started = performance.now()
  // As `npm start` runs it: built JavaScript, without the sources condition.
  const child = spawnServer(process.execPath, [cli, 'serve', '--config', config], {
    ...process.env,
    NODE_OPTIONS: '',
  })
  const cleanUp = () => rm(dir, { recursive: true, force: true })
  try {
    const [replica, port] = await waitForOutput(child, [
      /"msg":"replica started"[^\n]*"pid":(\d+)/,
      /"msg":"ready","listener":"tcp [\d.]+:(\d+)"/,
    ])
    await echoOnce(Number(port))
    return served(child, Number(port), [Number(replica)], started, cleanUp)
  } catch (error) {
    await stop(child)
    await cleanUp()
    throw error
  }
}

/** workerd serving the same echo worker through a TCP `connect` handler; it reports its port on fd 3. */
export const startWorkerd: StartServer = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-bench-workerd-'))
  await writeFile(join(dir, 'echo.js'), await readFile(worker, 'utf8'))
  await writeFile(join(dir, 'config.capnp'), workerdConfig({ modules: { 'echo.js': '' } }))
  const bin = join(root, 'node_modules/.bin/workerd')
  const started = performance.now()
  const child = spawnServer(bin, ['serve', 'config.capnp', '--control-fd=3'], process.env, dir)
  const cleanUp = () => rm(dir, { recursive: true, force: true })
  try {
    const port = await within(listenPort(child), 30_000, 'workerd to report its port')
    await echoOnce(port)
    return served(child, port, [], started, cleanUp)
  } catch (error) {
    await stop(child)
    await cleanUp()
    throw error
  }
}

function spawnServer(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd?: string,
): ChildProcess {
  const [pinnedCommand, pinnedArgs] = onServerCore(command, args)
  return spawn(pinnedCommand, pinnedArgs, {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
  })
}

function served(
  child: ChildProcess,
  port: number,
  more: number[],
  started: number,
  cleanUp?: () => Promise<void>,
): EchoServer {
  return {
    port,
    pids: [child.pid ?? 0, ...more],
    startMs: performance.now() - started,
    stop: async () => {
      await stop(child)
      await cleanUp?.()
    },
  }
}

/** Connects, sends one byte and waits for it to come back. */
async function echoOnce(port: number): Promise<void> {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
  try {
    await once(socket, 'connect')
    socket.write(Buffer.of(1))
    await once(socket, 'data')
  } finally {
    socket.destroy()
  }
}

/** workerd's control descriptor carries one JSON line per event; `listen` gives the port. */
async function listenPort(child: ChildProcess): Promise<number> {
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`workerd exited (${signal ?? code}) before listening`)
  })
  const lines = createInterface({ input: child.stdio[3] as Readable })
  const listening = (async () => {
    for await (const line of lines) {
      const event = JSON.parse(line) as { event?: string; port?: number }
      if (event.event === 'listen' && event.port !== undefined) return event.port
    }
    throw new Error('workerd closed its control descriptor before listening')
  })()
  return Promise.race([listening, exited])
}

let building: Promise<void> | undefined

/** `npm run build`, once per benchmark run, so that ours serves the current sources' JavaScript. */
function built(): Promise<void> {
  building ??= (async () => {
    const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 2, 2] })
    if (result.status !== 0) throw new Error(`npm run build failed (${result.status})`)
  })()
  return building
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
  })
}
