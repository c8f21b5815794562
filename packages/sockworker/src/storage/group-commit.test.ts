/**
 * Group commit on a real SQLite file: the writes of one turn share one
 * commit, none resolves before it, and transactions still run alone. A
 * second, raw connection (another replica, as far as SQLite knows) sees only
 * what was committed; `wal_checkpoint` counts the WAL frames the commits wrote.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import { openSqliteStorage } from './sqlite.ts'

const dir = mkdtempSync(join(tmpdir(), 'sockworker-group-commit-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

/** A storage and a raw connection on the same fresh file, its WAL emptied. */
function open() {
  const file = join(dir, `db${files++}.sqlite`)
  const storage = openSqliteStorage(file)
  const raw = new DatabaseSync(file)
  const count = () => (raw.prepare('SELECT count(*) AS n FROM kv').get() as { n: number }).n
  /** WAL frames written since the last call. */
  const frames = () => {
    const { log } = raw.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number }
    raw.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    return log
  }
  frames()
  return {
    storage,
    count,
    frames,
    [Symbol.dispose]() {
      raw.close()
      storage.close()
    },
  }
}

describe('sqlite storage: group commit', () => {
  it('commits the writes of one turn together, and resolves none before the commit', async () => {
    using db = open()
    const puts = [...Array(100)].map((_, i) => db.storage.put(`k${i}`, 'v'))
    let resolved = 0
    for (const put of puts) put.then(() => resolved++)
    await Promise.resolve()
    assert.equal(resolved, 0, 'no put resolves before its commit')
    assert.equal(db.count(), 0, 'another connection sees nothing before the commit')
    assert.deepEqual(await Promise.all(puts), Array(100).fill(true))
    assert.equal(db.count(), 100, 'every resolved put is committed')
    const oneTurn = db.frames()
    for (let i = 0; i < 100; i++) await db.storage.put(`k${i}`, 'w')
    const oneEach = db.frames()
    assert.ok(oneTurn * 10 < oneEach, `one commit (${oneTurn} frames) vs 100 (${oneEach})`)
  })

  it('resolves a read that joined an open batch after its commit, with the batch’s writes', async () => {
    using db = open()
    const put = db.storage.put('k', 'new')
    const get = db.storage.get('k')
    const order: string[] = []
    put.then(() => order.push('put'))
    get.then(() => order.push('get'))
    assert.equal(await get, 'new')
    assert.deepEqual(order, ['put', 'get'])
    assert.equal(db.count(), 1)
  })

  it('runs a transaction after the writes before it, and the writes after it behind it', async () => {
    using db = open()
    const before = db.storage.put('n', '1')
    const tx = db.storage.transaction(async (tx) => {
      const n = Number(await tx.get('n'))
      await new Promise((resolve) => setTimeout(resolve, 5))
      await tx.put('n', String(n + 1))
      return n
    })
    const behind = db.storage.put('n', '10')
    assert.equal(await tx, 1)
    await Promise.all([before, behind])
    assert.equal(await db.storage.get('n'), '10')
  })

  it('rejects only the failing write of a batch; the rest commit', async () => {
    using db = open()
    const good = db.storage.put('good', 'v')
    const bad = db.storage.put('bad', 42 as unknown as string)
    await assert.rejects(bad, TypeError)
    assert.equal(await good, true)
    assert.equal(db.count(), 1)
  })

  it('commits the open batch on close', async () => {
    const file = join(dir, `db${files++}.sqlite`)
    const storage = openSqliteStorage(file)
    const put = storage.put('k', 'v')
    storage.close()
    assert.equal(await put, true)
    const again = openSqliteStorage(file)
    assert.equal(await again.get('k'), 'v')
    again.close()
  })
})
