/**
 * A worker for the ioredis e2e tests: the unmodified `ioredis` driver (which
 * uses node:net) behind an HTTP `fetch` handler. One client lives in module
 * scope, so every request shares its connection. Replies are JSON, or
 * `{ error, name }` with status 500 carrying the driver's own error.
 *
 * env: REDIS_URL.
 *
 * - GET /counter?key=K: SET K 41, GET K, INCR K, and this connection's CLIENT ID.
 * - GET /pipeline?key=K: SET, INCR, INCRBY 10 and GET in one pipeline.
 * - GET /blpop?key=K&seconds=S: a blocking pop, which waits for a push.
 */
import { Redis } from 'ioredis'
import { type Env, jsonRoutes } from './json-routes.ts'

let client: Redis | undefined

function redis(env: Env): Redis {
  if (client !== undefined) return client
  client = new Redis(env['REDIS_URL'] ?? '', {
    // A request should fail fast when the server is gone: retry a command
    // over one reconnect attempt, not twenty.
    maxRetriesPerRequest: 1,
  })
  // Connection errors also reject the commands; without a listener ioredis
  // logs each one to stderr.
  client.on('error', () => {})
  return client
}

async function counter(params: URLSearchParams, env: Env): Promise<unknown> {
  const key = params.get('key') ?? 'counter'
  const db = redis(env)
  const set = await db.set(key, '41')
  const got = await db.get(key)
  const incr = await db.incr(key)
  const id = await db.client('ID')
  return { set, got, incr, id }
}

async function pipeline(params: URLSearchParams, env: Env): Promise<unknown> {
  const key = params.get('key') ?? 'pipelined'
  const results = await redis(env)
    .pipeline()
    .set(key, '1')
    .incr(key)
    .incrby(key, 10)
    .get(key)
    .exec()
  return { results: results?.map(([error, value]) => (error ? String(error) : value)) }
}

async function blpop(params: URLSearchParams, env: Env): Promise<unknown> {
  const popped = await redis(env).blpop(params.get('key') ?? 'queue', params.get('seconds') ?? '30')
  return { popped }
}

export default jsonRoutes({
  '/counter': counter,
  '/pipeline': pipeline,
  '/blpop': blpop,
})
