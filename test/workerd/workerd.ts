/**
 * Starts the real workerd (the npm `workerd` package) with a generated
 * config: one worker whose `connect` handler serves a TCP socket, and an
 * `internet` network service that may reach loopback, where the tests'
 * upstream servers listen. workerd binds port 0 and reports the port it got
 * on a control descriptor (`--control-fd`), so nothing races for a port.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { within } from '../helpers/timers.ts'

const workerdBin = new URL('../../node_modules/.bin/workerd', import.meta.url).pathname

export interface WorkerdOptions {
  /** The worker's ES modules: name → source. The first one is the main module. */
  modules: Record<string, string>
  /** Text bindings, on `env`. */
  vars?: Record<string, string>
}

export interface RunningWorkerd extends AsyncDisposable {
  /** The TCP port the worker's `connect` handler serves. */
  port: number
  readonly output: string
}

/** The capnp config: `tcp = ()` on a socket hands its connections to the worker's `connect` handler. */
export function workerdConfig(options: WorkerdOptions): string {
  const modules = Object.keys(options.modules)
    .map(
      (name) => `    (name = ${JSON.stringify(name)}, esModule = embed ${JSON.stringify(name)}),`,
    )
    .join('\n')
  const bindings = Object.entries(options.vars ?? {})
    .map(([name, text]) => `    (name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)}),`)
    .join('\n')
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [
    (name = "tcp", address = "127.0.0.1:0", tcp = (), service = "main"),
  ],
);

const worker :Workerd.Worker = (
  modules = [
${modules}
  ],
  bindings = [
${bindings}
  ],
  compatibilityDate = "2025-09-01",
);
`
}

/** Writes the worker and its config to a temp dir and serves it; `await using` stops it. */
export async function startWorkerd(options: WorkerdOptions): Promise<RunningWorkerd> {
  const dir = await mkdtemp(join(tmpdir(), 'sockworker-workerd-'))
  for (const [name, source] of Object.entries(options.modules))
    await writeFile(join(dir, name), source)
  await writeFile(join(dir, 'config.capnp'), workerdConfig(options))
  const child = spawn(workerdBin, ['serve', 'config.capnp', '--control-fd=3'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk))
  const stop = async () => {
    await stopChild(child)
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const port = await within(
      listenPort(child, child.stdio[3] as Readable),
      30_000,
      'workerd to report its TCP port',
    )
    return {
      port,
      get output() {
        return output
      },
      [Symbol.asyncDispose]: stop,
    }
  } catch (error) {
    await stop()
    throw new Error(`workerd did not start: ${(error as Error).message}\n${output}`, {
      cause: error,
    })
  }
}

/** The control descriptor carries one JSON line per event; `listen` names the socket and its port. */
async function listenPort(child: ChildProcess, control: Readable): Promise<number> {
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`workerd exited (${signal ?? code}) before listening`)
  })
  const lines = createInterface({ input: control })
  const listening = (async () => {
    for await (const line of lines) {
      const event = JSON.parse(line) as { event?: string; socket?: string; port?: number }
      if (event.event === 'listen' && event.socket === 'tcp' && event.port !== undefined)
        return event.port
    }
    throw new Error('workerd closed its control descriptor before listening')
  })()
  return Promise.race([listening, exited])
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}
