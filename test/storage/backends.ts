/**
 * The three storage backends on real servers, for the conformance suite,
 * the outage tests and the benchmark: an SQLite file, a redis-server and a
 * PostgreSQL cluster, each started once. Every `fresh()` storage gets its
 * own file, key namespace or table, so tests never see each other's keys.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StorageBindingSpec } from '../../packages/sockworker/src/storage/bindings.ts'
import { openPostgresStorage } from '../../packages/sockworker/src/storage/postgres.ts'
import { openRedisStorage } from '../../packages/sockworker/src/storage/redis.ts'
import { openSqliteStorage } from '../../packages/sockworker/src/storage/sqlite.ts'
import type { Storage } from '../../packages/sockworker/src/storage/types.ts'
import { type PgServer, startPostgres } from '../servers/postgres.ts'
import { type RedisServer, startRedis } from '../servers/redis.ts'

/** A storage the test closes. */
export type Closable = Storage & { close(): void | Promise<void> }

export interface Backend {
  name: 'sqlite' | 'redis' | 'postgres'
  /** A binding spec no other test uses (as `openBindings` and the config take it). */
  spec(): StorageBindingSpec
  /** Opens a storage on `spec` (another instance on the same data each time). */
  open(spec: StorageBindingSpec, options?: { timeoutMs?: number }): Closable
}

let counter = 0
const unique = () => `t${process.pid}_${counter++}`

/**
 * Starts the servers; `stop()` stops them and removes every file.
 *
 * @example
 * const { backends, stop } = await startBackends()
 * for (const backend of backends) describe(backend.name, () => { ... })
 */
export async function startBackends(): Promise<{
  backends: Backend[]
  redis: RedisServer
  pg: PgServer
  stop(): Promise<void>
}> {
  const dir = mkdtempSync(join(tmpdir(), 'sockworker-storage-'))
  const [redis, pg] = await Promise.all([startRedis(), startPostgres()])
  const backends: Backend[] = [
    {
      name: 'sqlite',
      spec: () => ({ path: join(dir, `${unique()}.sqlite`) }),
      open: (spec) => openSqliteStorage((spec as { path: string }).path),
    },
    {
      name: 'redis',
      spec: () => ({ url: redis.url, namespace: unique() }),
      open: (spec, options = {}) => openRedisStorage(urlOf(spec), { ...remote(spec), ...options }),
    },
    {
      name: 'postgres',
      spec: () => ({ url: pg.connectionString, namespace: unique() }),
      open: (spec, options = {}) =>
        openPostgresStorage(urlOf(spec), { ...remote(spec), ...options }),
    },
  ]
  return {
    backends,
    redis,
    pg,
    async stop() {
      await Promise.all([redis.stop(), pg.stop()])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function urlOf(spec: StorageBindingSpec): string {
  if (!('url' in spec)) throw new TypeError('Expected a url binding')
  return spec.url
}

function remote(spec: StorageBindingSpec): { namespace?: string } {
  return 'namespace' in spec && spec.namespace !== undefined ? { namespace: spec.namespace } : {}
}
