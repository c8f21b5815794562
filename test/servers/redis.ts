/**
 * A real Redis server for tests: redis-server from the Debian package, on
 * 127.0.0.1 and a free port, persisting nothing, in a temporary directory.
 */
import {
  type Restartable,
  type ServerProcess,
  type Stoppable,
  spawnServer,
  stoppable,
} from './process.ts'
import {
  HOST,
  onFreePort,
  probeTcp,
  type StartOptions,
  startDeadline,
  startFailure,
  waitUntil,
} from './ready.ts'
import { findBinary, makeServerDir, removeServerDir } from './system.ts'

/** A running Redis server (no password: Redis' default, loopback only). */
export interface RedisServer extends Stoppable, Restartable {
  /** Always `127.0.0.1`. */
  host: string
  port: number
  /** `redis://127.0.0.1:port`. */
  url: string
  /** The temporary working directory; gone after `stop()`. */
  dir: string
}

/**
 * Starts redis-server. It runs as whoever we are, root included: unlike the
 * SQL servers, Redis does not refuse root.
 *
 * @example
 * await using redis = await startRedis()
 * const client = new Redis({ host: redis.host, port: redis.port })
 */
export async function startRedis(options: StartOptions = {}): Promise<RedisServer> {
  const deadline = startDeadline(options)
  const redisServer = findBinary({ names: ['redis-server'], debianPackage: 'redis-server' })
  const dir = await makeServerDir('sockworker-redis-')
  // Not narrowed to `undefined`: the port callback below assigns it.
  let server = undefined as ServerProcess | undefined
  const launch = async (port: number, until: typeof deadline) => {
    const args = [
      ['--port', String(port), '--bind', HOST, '--dir', dir],
      // Nothing to keep: no RDB snapshots, no append-only file.
      ['--save', '', '--appendonly', 'no'],
      ['--daemonize', 'no', '--logfile', ''],
    ].flat()
    server = spawnServer(redisServer, args, { cwd: dir })
    await waitUntil(() => ping(port), { server, deadline: until })
    return port
  }
  try {
    const port = await onFreePort((port) => launch(port, deadline))
    return {
      host: HOST,
      port,
      url: `redis://${HOST}:${port}`,
      dir,
      // A restarted Redis starts empty: it persists nothing.
      down: async () => void (await server?.stop('SIGTERM', 5_000)),
      up: async () => void (await launch(port, startDeadline())),
      ...stoppable(() => server!, dir, 'SIGTERM', 5_000),
    }
  } catch (error) {
    const log = server?.tail()
    await server?.stop('SIGKILL', 0)
    await removeServerDir(dir)
    throw startFailure('Redis', dir, error, log)
  }
}

/** Ready once PING answers +PONG (while loading, Redis answers -LOADING). */
function ping(port: number): Promise<boolean> {
  return probeTcp(port, {
    send: 'PING\r\n',
    accept: (data) => (data.includes('\r\n') ? data.toString('latin1') === '+PONG\r\n' : undefined),
  })
}
