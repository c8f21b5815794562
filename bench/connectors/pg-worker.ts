/**
 * The worker side of the connector benchmark: `GET /rate?n=N` runs N
 * sequential `SELECT 1` on one pg client kept in module scope and answers
 * with the round trips per second it measured itself, so HTTP is not timed.
 */
import pg from 'pg'

let client: Promise<pg.Client> | undefined

async function connected(url: string): Promise<pg.Client> {
  const fresh = new pg.Client({ connectionString: url })
  await fresh.connect()
  return fresh
}

export default {
  async fetch(request: Request, env: Record<string, string>): Promise<Response> {
    const n = Number(new URL(request.url).searchParams.get('n') ?? '1000')
    client ??= connected(env['DATABASE_URL'] ?? '')
    const db = await client
    const started = performance.now()
    for (let i = 0; i < n; i++) await db.query('SELECT 1')
    const seconds = (performance.now() - started) / 1000
    return Response.json({ perSecond: n / seconds, seconds, userAgent: navigator.userAgent })
  },
}
