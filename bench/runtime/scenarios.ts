/**
 * Issue 12's figures: an echo worker under `sockworker serve` (one replica)
 * against a hand-written `node:net` echo server, each in its own processes
 * on the server's core, driven by the same raw clients on the other core,
 * with a fresh server per measurement. workerd serving the same echo worker
 * and Bun's raw echo are measured beside them. CPU time and memory are
 * summed over every process of a server (the supervisor and its replica).
 * Each export is a scenario for bench/run.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Measurement, RunOptions, Scenario } from '../common.ts'
import { connectionRate, holdIdle, pingPong, throughput } from './clients.ts'
import { pinClient } from './pin.ts'
import {
  type EchoServer,
  type StartServer,
  startBaseline,
  startBun,
  startSockworker,
  startWorkerd,
} from './servers.ts'
import { cpuSeconds, proportionalBytes, residentBytes } from './usage.ts'

type Measure = (server: EchoServer, quick: boolean) => Promise<Measurement>

function scenario(meta: Omit<Scenario, 'baseline' | 'ours' | 'peers'>, measure: Measure): Scenario {
  const run =
    (start: StartServer) =>
    async ({ quick }: RunOptions) => {
      const unpin = pinClient()
      const server = await start().catch((error: unknown) => {
        unpin()
        throw error
      })
      try {
        return await measure(server, quick)
      } finally {
        await server.stop()
        unpin()
      }
    }
  return {
    ...meta,
    baseline: run(startBaseline),
    ours: run(startSockworker),
    peers: { workerd: run(startWorkerd), bun: run(startBun) },
  }
}

const timed = async (work: () => Promise<number>): Promise<Measurement> => {
  const started = performance.now()
  const value = await work()
  return { value, seconds: (performance.now() - started) / 1000 }
}

/** The server's CPU time per unit of `work`, in µs: `work` returns how many units it did. */
async function cpuPer(server: EchoServer, work: () => Promise<number>): Promise<Measurement> {
  const before = await cpuSeconds(server.pids)
  const started = performance.now()
  const units = await work()
  const seconds = (performance.now() - started) / 1000
  const cpu = (await cpuSeconds(server.pids)) - before
  return { value: (cpu * 1e6) / units, seconds, extra: { perSecond: units / seconds } }
}

export const workerThroughput = scenario(
  {
    name: 'worker-throughput',
    figure: 'Worker echo, 1 conn, 64 KiB writes',
    unit: 'MiB/s',
    target: 1.8,
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
    target: 1.1,
  },
  (server, quick) => timed(() => pingPong(server.port, 100, quick ? 50 : 500)),
)

export const workerCpuPerTrip = scenario(
  {
    name: 'worker-cpu-per-trip',
    figure: 'Server CPU per round trip, 64 B, 1 conn',
    unit: 'µs',
    target: 1.0,
    better: 'lower',
  },
  (server, quick) => {
    // Enough trips for most of a second of CPU or more: /proc counts it in 10 ms ticks.
    const trips = quick ? 5_000 : 20_000
    return cpuPer(server, async () => {
      await pingPong(server.port, 1, trips)
      return trips
    })
  },
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

export const workerCpuPerConnection = scenario(
  {
    name: 'worker-cpu-per-conn',
    figure: 'Server CPU per conn (connect, 16 B each way, close)',
    unit: 'µs',
    target: 1.3,
    better: 'lower',
  },
  (server, quick) => {
    const total = quick ? 1_000 : 10_000
    return cpuPer(server, async () => {
      await connectionRate(server.port, total, 50)
      return total
    })
  },
)

export const workerIdleMemory = scenario(
  {
    name: 'worker-idle-memory',
    figure: 'RSS per idle conn (5,000 held)',
    unit: 'KB',
    target: 8,
    better: 'lower',
    goal: 'value',
  },
  async (server, quick) => {
    const count = quick ? 500 : 5_000
    const before = await residentBytes(server.pids)
    const started = performance.now()
    const sockets = await holdIdle(server.port, count)
    // Let the server settle after the burst before reading its memory.
    await sleep(500)
    const grown = (await residentBytes(server.pids)) - before
    for (const socket of sockets) socket.destroy()
    return { value: grown / count / 1000, seconds: (performance.now() - started) / 1000 }
  },
)

export const workerIdleRss = scenario(
  {
    name: 'worker-idle-rss',
    figure: 'Idle RSS of the server (supervisor + 1 replica)',
    unit: 'MB',
    target: 1.8,
    better: 'lower',
  },
  async (server) => {
    // Started, served one connection (the start-up probe), then idle for a second.
    await sleep(1000)
    const rss = await residentBytes(server.pids)
    const pss = await proportionalBytes(server.pids)
    return { value: rss / 1e6, seconds: 1, extra: { pssMB: pss / 1e6 } }
  },
)

export const workerStartup = scenario(
  {
    name: 'worker-startup',
    figure: 'Start to accepting (spawn to first echo)',
    unit: 'ms',
    target: 150,
    better: 'lower',
    goal: 'difference',
  },
  async (server) => ({ value: server.startMs, seconds: server.startMs / 1000 }),
)

export const runtimeScenarios: Scenario[] = [
  workerThroughput,
  workerPingPong,
  workerPingPong100,
  workerCpuPerTrip,
  workerConnections,
  workerCpuPerConnection,
  workerIdleMemory,
  workerIdleRss,
  workerStartup,
]
