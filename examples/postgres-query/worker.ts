/**
 * Postgres query: runs a parameterised query with the unmodified `pg`
 * driver and answers with the first row as JSON. See README.md to run it
 * against a local PostgreSQL.
 *
 *   curl 'http://127.0.0.1:8080/?id=1'
 *   {"id":1,"name":"Ada Lovelace","born":1815}
 */
import pg from 'pg'

// Module scope: every request this replica serves shares the pool, so a
// request reuses an open connection instead of logging in again.
let pool: pg.Pool | undefined

function connectPool(env: Record<string, unknown>): pg.Pool {
  if (pool !== undefined) return pool
  const url = env['DATABASE_URL']
  if (typeof url !== 'string' || url === '') {
    throw new Error(
      'DATABASE_URL is not set: pass --var DATABASE_URL=postgres://user:password@host:5432/db',
    )
  }
  pool = new pg.Pool({ connectionString: url, max: 4 })
  // A pooled connection that drops while idle is replaced on the next query;
  // without a listener, its 'error' event would end the process.
  pool.on('error', (error) => console.warn(`Idle PostgreSQL connection lost: ${error.message}`))
  return pool
}

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    const id = new URL(request.url).searchParams.get('id') ?? ''
    if (!/^\d{1,9}$/.test(id)) {
      return Response.json(
        { error: `Cannot look up id "${id}": pass a number, as in /?id=1` },
        {
          status: 400,
        },
      )
    }
    try {
      const { rows } = await connectPool(env).query(
        'SELECT id, name, born FROM people WHERE id = $1',
        [id],
      )
      if (rows[0] === undefined) {
        return Response.json({ error: `No row with id ${id}` }, { status: 404 })
      }
      return Response.json(rows[0])
    } catch (error) {
      // The driver's message says what went wrong ("password authentication
      // failed for user ...", "relation "people" does not exist").
      const message = error instanceof Error ? error.message : String(error)
      return Response.json({ error: message }, { status: 502 })
    }
  },
}
