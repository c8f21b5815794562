/**
 * A worker for the pg e2e tests: the unmodified `pg` driver behind an HTTP
 * `fetch` handler. Pools live in module scope, one per database, so every
 * request and every HTTP connection shares them. Replies are JSON: a row, or
 * `{ error, code }` with status 500 carrying the driver's own error.
 *
 * env: DATABASE_URL (plain server), SSL_DATABASE_URL and PG_CA (a server
 * with ssl=on and the CA that signed its certificate), APP (the
 * application_name, so the test can count this worker's connections).
 *
 * - GET /query?db=plain|ssl&n=41: a parameterised query on the pool;
 *   `{ ua, stream, pid, n: 42, ssl }`, where `stream` is the class of pg's
 *   socket (CloudflareSocket on the Workers path, Socket or TLSSocket on
 *   node:net/node:tls).
 * - GET /sleep?seconds=10: `SELECT pg_sleep($1)` on the plain pool.
 * - GET /login?password=P: a one-off client with that password.
 */
import pg from 'pg'
import { type Env, jsonRoutes } from './json-routes.ts'

const pools = new Map<string, pg.Pool>()

function pool(db: string, env: Env): pg.Pool {
  let found = pools.get(db)
  if (found !== undefined) return found
  const ssl = db === 'ssl'
  found = new pg.Pool({
    connectionString: ssl ? env['SSL_DATABASE_URL'] : env['DATABASE_URL'],
    application_name: env['APP'] ?? 'drivers',
    // One connection: the same backend pid on every request proves reuse.
    max: 1,
    connectionTimeoutMillis: 5000,
    ...(ssl ? { ssl: { ca: env['PG_CA'] ?? '' } } : {}),
  })
  // An idle client whose server goes away emits 'error' on the pool; without
  // a listener that would end the replica.
  found.on('error', () => {})
  pools.set(db, found)
  return found
}

/** The class name of pg's socket: which path the driver took. */
function streamOf(client: pg.PoolClient): string {
  const { connection } = client as unknown as { connection: { stream: object } }
  return connection.stream.constructor.name
}

async function query(params: URLSearchParams, env: Env): Promise<unknown> {
  const client = await pool(params.get('db') ?? 'plain', env).connect()
  try {
    const { rows } = await client.query(
      `SELECT pg_backend_pid() AS pid, $1::int + 1 AS n,
              (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl`,
      [params.get('n') ?? '0'],
    )
    return { ua: navigator.userAgent, stream: streamOf(client), ...rows[0] }
  } finally {
    client.release()
  }
}

async function sleep(params: URLSearchParams, env: Env): Promise<unknown> {
  const { rows } = await pool('plain', env).query('SELECT pg_sleep($1) AS slept', [
    params.get('seconds') ?? '10',
  ])
  return rows[0]
}

async function login(params: URLSearchParams, env: Env): Promise<unknown> {
  const url = new URL(env['DATABASE_URL'] ?? '')
  url.password = params.get('password') ?? ''
  const client = new pg.Client({ connectionString: url.href, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    return (await client.query('SELECT current_user AS user')).rows[0]
  } finally {
    await client.end()
  }
}

export default jsonRoutes({
  '/query': query,
  '/sleep': sleep,
  '/login': login,
})
