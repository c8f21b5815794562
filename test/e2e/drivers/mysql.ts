/**
 * A worker for the mysql2 e2e tests: the unmodified `mysql2` driver (which
 * uses node:net) behind an HTTP `fetch` handler. The pool lives in module
 * scope with one connection, so every request shares it. Replies are JSON,
 * or `{ error, code }` with status 500 carrying the driver's own error.
 *
 * env: MYSQL_URL (mysql://user:password@host:port/database).
 *
 * - GET /query?n=41: a parameterised query; `{ id: CONNECTION_ID(), n: 42 }`.
 * - GET /sleep?seconds=S: `SELECT SLEEP(?)`.
 */
import mysql from 'mysql2/promise'
import { type Env, jsonRoutes } from './json-routes.ts'

let pool: mysql.Pool | undefined

function db(env: Env): mysql.Pool {
  pool ??= mysql.createPool({
    uri: env['MYSQL_URL'] ?? '',
    // One connection: the same CONNECTION_ID() on every request proves reuse.
    connectionLimit: 1,
    connectTimeout: 5000,
  })
  return pool
}

async function query(params: URLSearchParams, env: Env): Promise<unknown> {
  const [rows] = await db(env).execute<mysql.RowDataPacket[]>(
    'SELECT CONNECTION_ID() AS id, ? + 1 AS n',
    [Number(params.get('n') ?? 0)],
  )
  return rows[0]
}

async function sleep(params: URLSearchParams, env: Env): Promise<unknown> {
  const [rows] = await db(env).query<mysql.RowDataPacket[]>('SELECT SLEEP(?) AS slept', [
    Number(params.get('seconds') ?? 10),
  ])
  return rows[0]
}

export default jsonRoutes({
  '/query': query,
  '/sleep': sleep,
})
