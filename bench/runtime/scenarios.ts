/**
 * Issue 3's figures: an echo worker under `sockworker serve` against a
 * hand-written `node:net` echo server, each in its own processes, driven by
 * the same raw clients. Each export is a scenario for bench/run.ts.
 */
import type { Measurement, RunOptions, Scenario } from '../common.ts'
import { connectionRate, holdIdle, pingPong, throughput } from './clients.ts'
import { type EchoServer, residentBytes, startBaseline, startSockworker } from './servers.ts'

type Measure = (server: EchoServer, quick: boolean) => Promise<Measurement>

function scenario(meta: Omit<Scenario, 'baseline' | 'ours'>, measure: Measure): Scenario {
  const run =
    (start: () => Promise<EchoServer>) =>
    async ({ quick }: RunOptions) => {
      const server = await start()
      try {
        return await measure(server, quick)
      } finally {
        await server.stop()
      }
    }
  return { ...meta, baseline: run(startBaseline), ours: run(startSockworker) }
}

const timed = async (work: () => Promise<number>): Promise<Measurement> => {
  const started = performance.now()
  const value = await work()
  return { value, seconds: (performance.now() - started) / 1000 }
}

export const workerThroughput = scenario(
  {
    name: 'worker-throughput',
    figure: 'Worker echo, 1 conn, 64 KiB writes',
    unit: 'MiB/s',
    target: 0.9,
  },
  (server, quick) =>
    timed(
      async () => (await throughput(server.port, (quick ? 64 : 512) * 1024 * 1024)) / 1024 / 1024,
    ),
)

export const workerPingPong = scenario(
  {
    name: 'worker-ping-pong',
    figure: 'Worker echo, 64 B ping-pong, 1 conn',
    unit: 'trips/s',
    target: 0.8,
  },
  (server, quick) => timed(() => pingPong(server.port, 1, quick ? 2_000 : 20_000)),
)

export const workerPingPong100 = scenario(
  {
    name: 'worker-ping-pong-100',
    figure: 'Worker echo, 64 B ping-pong, 100 conns',
    unit: 'trips/s',
    target: 0.8,
  },
  (server, quick) => timed(() => pingPong(server.port, 100, quick ? 50 : 500)),
)

export const workerConnections = scenario(
  {
    name: 'worker-connections',
    figure: 'Worker echo, connections/s (50 at a time)',
    unit: 'conns/s',
    target: 0.7,
  },
  (server, quick) => timed(() => connectionRate(server.port, quick ? 500 : 5_000, 50)),
)

/** Higher is better everywhere in the table, so memory is given as connections per MiB held. */
export const workerIdleMemory = scenario(
  {
    name: 'worker-idle-memory',
    figure: 'Worker echo, idle conns held per MiB of RSS',
    unit: 'conns/MiB',
    target: 0.5,
  },
  async (server, quick) => {
    const count = quick ? 500 : 5_000
    const before = await residentBytes(server.pids)
    const started = performance.now()
    const sockets = await holdIdle(server.port, count)
    // Let the server settle after the burst before reading its memory.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const grown = (await residentBytes(server.pids)) - before
    for (const socket of sockets) socket.destroy()
    const perConnection = Math.max(grown, 1) / count
    return {
      value: (1024 * 1024) / perConnection,
      seconds: (performance.now() - started) / 1000,
      extra: { bytesPerConn: perConnection },
    }
  },
)

/** Start-up time, reported as starts per second so that higher is better; there is no target. */
export const workerStartup = scenario(
  { name: 'worker-startup', figure: 'Spawn to ready (1000 / ms)', unit: 'starts/s', target: 0 },
  async (server) => ({
    value: 1000 / server.startMs,
    seconds: server.startMs / 1000,
    extra: { ms: server.startMs },
  }),
)

export const runtimeScenarios: Scenario[] = [
  workerThroughput,
  workerPingPong,
  workerPingPong100,
  workerConnections,
  workerIdleMemory,
  workerStartup,
]
