/**
 * The SQL of the PostgreSQL backend, for one table. Parameters that are
 * `now` are the app's clock, in ms since the epoch, as in SQLite.
 *
 * Plain writes join a one-row subquery that takes the storage's advisory
 * lock in shared mode: the write cannot happen until no transaction holds
 * it exclusively, and it costs no extra round trip.
 */

/**
 * @example
 * const sql = pgStatements('sockworker_kv')
 * await client.query(sql.get, [key, Date.now()])
 */
export function pgStatements(table: string) {
  const t = `"${table}"`
  // One lock per table and database; the same number in every process.
  const lockId = `hashtextextended('sockworker storage ${table}', 0)`
  const live = (now: string) => `(${t}.expires_at IS NULL OR ${t}.expires_at > ${now})`
  const shared = `(SELECT pg_advisory_xact_lock_shared(${lockId})) AS storage_lock`
  return {
    schema: `
      SELECT pg_advisory_xact_lock(${lockId});
      CREATE TABLE IF NOT EXISTS ${t} (
        key text COLLATE "C" PRIMARY KEY,
        type smallint NOT NULL,
        value bytea NOT NULL,
        expires_at bigint
      );
      CREATE INDEX IF NOT EXISTS "${table}_expires" ON ${t} (expires_at) WHERE expires_at IS NOT NULL;`,
    lockExclusive: `SELECT pg_advisory_xact_lock(${lockId})`,
    get: `SELECT type, value, expires_at FROM ${t} WHERE key = $1 AND ${live('$2')}`,
    getMany: `SELECT key, type, value FROM ${t} WHERE key = ANY($1::text[]) AND ${live('$2')}`,
    upsert: `
      INSERT INTO ${t} (key, type, value, expires_at) SELECT $1, $2, $3, $4 FROM ${shared}
      ON CONFLICT (key) DO UPDATE SET type = excluded.type, value = excluded.value,
        expires_at = excluded.expires_at
      RETURNING 1 AS ok`,
    insertIfAbsent: `
      INSERT INTO ${t} (key, type, value, expires_at) SELECT $1, $2, $3, $4 FROM ${shared}
      ON CONFLICT (key) DO UPDATE SET type = excluded.type, value = excluded.value,
        expires_at = excluded.expires_at WHERE NOT ${live('$5')}
      RETURNING 1 AS ok`,
    updateIfPresent: `
      UPDATE ${t} SET type = $2, value = $3, expires_at = $4 FROM ${shared}
      WHERE key = $1 AND ${live('$5')} RETURNING 1 AS ok`,
    delete: `DELETE FROM ${t} USING ${shared} WHERE key = $1 AND ${live('$2')} RETURNING 1 AS ok`,
    expire: `
      UPDATE ${t} SET expires_at = $2 FROM ${shared}
      WHERE key = $1 AND ${live('$3')} RETURNING 1 AS ok`,
    purge: `DELETE FROM ${t} WHERE expires_at <= $1`,
    list: `
      SELECT key, type, value FROM ${t}
      WHERE key >= $1 AND starts_with(key, $1) AND ${live('$3')}
      ORDER BY key LIMIT $2`,
  }
}
