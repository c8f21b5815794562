import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { openBindings } from './bindings.ts'
import { openSqliteStorage } from './sqlite.ts'

const dir = mkdtempSync(join(tmpdir(), 'sockworker-storage-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshFile = () => join(dir, `nested/db${files++}.sqlite`)

/** A storage with a clock the test moves by hand. */
function withClock(file = freshFile()) {
  const clock = { t: 1_000_000 }
  const storage = openSqliteStorage(file, { now: () => clock.t })
  return { storage, clock, file }
}

describe('sqlite storage: basic operations', () => {
  it('gets, puts, deletes strings and bytes as stored', async () => {
    const { storage } = withClock()
    assert.equal(await storage.get('a'), null)
    assert.equal(await storage.put('a', 'hello'), true)
    assert.equal(await storage.get('a'), 'hello')
    await storage.put('b', new Uint8Array([0, 1, 255]))
    assert.deepEqual(await storage.get('b'), new Uint8Array([0, 1, 255]))
    await storage.put('a', 'again')
    assert.equal(await storage.get('a'), 'again')
    assert.equal(await storage.delete('a'), true)
    assert.equal(await storage.delete('a'), false)
    assert.equal(await storage.get('a'), null)
    assert.deepEqual(await storage.getMany(['b', 'a', 'zz']), [
      new Uint8Array([0, 1, 255]),
      null,
      null,
    ])
    storage.close()
  })

  it('lists in key order, by prefix, up to a limit', async () => {
    const { storage } = withClock()
    for (const key of ['user:2', 'user:1', 'item:1', 'user:10', 'usex']) await storage.put(key, key)
    const keys = async (options?: { prefix?: string; limit?: number }) =>
      (await storage.list(options)).map((entry) => entry.key)
    assert.deepEqual(await keys(), ['item:1', 'user:1', 'user:10', 'user:2', 'usex'])
    assert.deepEqual(await keys({ prefix: 'user:' }), ['user:1', 'user:10', 'user:2'])
    assert.deepEqual(await keys({ prefix: 'user:', limit: 2 }), ['user:1', 'user:10'])
    assert.deepEqual(await keys({ prefix: 'nope' }), [])
    assert.deepEqual(await storage.list({ prefix: 'item' }), [{ key: 'item:1', value: 'item:1' }])
    storage.close()
  })

  it('writes onlyIf absent or present', async () => {
    const { storage } = withClock()
    assert.equal(await storage.put('k', 'v1', { onlyIf: 'present' }), false)
    assert.equal(await storage.get('k'), null)
    assert.equal(await storage.put('k', 'v1', { onlyIf: 'absent' }), true)
    assert.equal(await storage.put('k', 'v2', { onlyIf: 'absent' }), false)
    assert.equal(await storage.get('k'), 'v1')
    assert.equal(await storage.put('k', 'v3', { onlyIf: 'present' }), true)
    assert.equal(await storage.get('k'), 'v3')
    storage.close()
  })

  it('rejects values that are neither strings nor bytes, clearly', async () => {
    const { storage } = withClock()
    await assert.rejects(storage.put('k', 42 as unknown as string), /strings or Uint8Arrays/)
    storage.close()
  })
})

describe('sqlite storage: expiry', () => {
  it('hides expired keys from every operation', async () => {
    const { storage, clock } = withClock()
    await storage.put('short', 'x', { expiresIn: 100 })
    await storage.put('long', 'y', { expiresAt: clock.t + 10_000 })
    await storage.put('forever', 'z')
    assert.equal(await storage.ttl('short'), 100)
    assert.equal(await storage.ttl('forever'), null)
    assert.equal(await storage.ttl('missing'), undefined)
    clock.t += 100
    assert.equal(await storage.get('short'), null)
    assert.equal(await storage.ttl('short'), undefined)
    assert.deepEqual(await storage.getMany(['short', 'long']), [null, 'y'])
    assert.deepEqual(
      (await storage.list()).map((entry) => entry.key),
      ['forever', 'long'],
    )
    assert.equal(await storage.delete('short'), false)
    assert.equal(await storage.expire('short', null), false)
    storage.close()
  })

  it('treats an expired key as absent for onlyIf', async () => {
    const { storage, clock } = withClock()
    await storage.put('k', 'old', { expiresIn: 10 })
    clock.t += 10
    assert.equal(await storage.put('k', 'new', { onlyIf: 'present' }), false)
    assert.equal(await storage.put('k', 'new', { onlyIf: 'absent' }), true)
    assert.equal(await storage.get('k'), 'new')
    assert.equal(await storage.ttl('k'), null, 'the new value does not inherit the old expiry')
    storage.close()
  })

  it('sets and clears an expiry with expire', async () => {
    const { storage, clock } = withClock()
    await storage.put('k', 'v')
    assert.equal(await storage.expire('k', clock.t + 500), true)
    assert.equal(await storage.ttl('k'), 500)
    assert.equal(await storage.expire('k', null), true)
    assert.equal(await storage.ttl('k'), null)
    assert.equal(await storage.expire('k', clock.t), true)
    assert.equal(await storage.get('k'), null)
    assert.equal(await storage.expire('missing', clock.t + 1), false)
    storage.close()
  })
})

describe('sqlite storage: transactions', () => {
  it('commits every operation together', async () => {
    const { storage } = withClock()
    const result = await storage.transaction(async (tx) => {
      await tx.put('a', '1')
      await tx.put('b', '2')
      return tx.get('a')
    })
    assert.equal(result, '1')
    assert.deepEqual(await storage.getMany(['a', 'b']), ['1', '2'])
    storage.close()
  })

  it('rolls back when work throws, and rethrows', async () => {
    const { storage } = withClock()
    await storage.put('a', 'before')
    await assert.rejects(
      storage.transaction(async (tx) => {
        await tx.put('a', 'during')
        await tx.put('b', 'during')
        throw new Error('boom')
      }),
      /boom/,
    )
    assert.deepEqual(await storage.getMany(['a', 'b']), ['before', null])
    storage.close()
  })

  it('serialises concurrent read-modify-write transactions', async () => {
    const { storage } = withClock()
    const increment = () =>
      storage.transaction(async (tx) => {
        const n = Number((await tx.get('n')) ?? 0)
        await new Promise((resolve) => setImmediate(resolve))
        await tx.put('n', String(n + 1))
      })
    await Promise.all([...Array(20)].map(increment))
    assert.equal(await storage.get('n'), '20')
    storage.close()
  })

  it('makes plain operations wait for an open transaction', async () => {
    const { storage } = withClock()
    let release = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const transaction = storage.transaction(async (tx) => {
      await tx.put('k', 'inside')
      await gate
      throw new Error('undo')
    })
    const outside = storage.get('k')
    release()
    await assert.rejects(transaction, /undo/)
    assert.equal(await outside, null, 'the read ran after the rollback, not inside the transaction')
    storage.close()
  })

  it('rejects a call on the storage itself from inside a transaction, instead of hanging', async () => {
    const { storage } = withClock()
    await assert.rejects(
      storage.transaction(async () => storage.get('k')),
      /use its `tx`, not the storage itself/,
    )
    await assert.rejects(
      storage.transaction(async () => storage.transaction(async () => 1)),
      /use its `tx`/,
    )
    assert.equal(await storage.get('k'), null, 'the storage still works afterwards')
    storage.close()
  })

  it('refuses tx after the transaction ended', async () => {
    const { storage } = withClock()
    const tx = await storage.transaction(async (tx) => tx)
    await assert.rejects(tx.get('k'), /transaction has ended/)
    storage.close()
  })
})

describe('sqlite storage: the file', () => {
  it('lets two storages on one file (two replicas) see each other and increment atomically', async () => {
    const file = freshFile()
    const one = openSqliteStorage(file)
    const two = openSqliteStorage(file)
    await one.put('shared', 'from one')
    assert.equal(await two.get('shared'), 'from one')
    await two.delete('shared')
    assert.equal(await one.get('shared'), null)
    const increment = (storage: typeof one) =>
      storage.transaction(async (tx) => {
        const n = Number((await tx.get('n')) ?? 0)
        await tx.put('n', String(n + 1))
      })
    await Promise.all([...Array(10)].flatMap(() => [increment(one), increment(two)]))
    assert.equal(await one.get('n'), '20')
    one.close()
    two.close()
  })

  it('increments atomically from two processes (two replicas)', async () => {
    const file = freshFile()
    openSqliteStorage(file).close()
    const script = `
      import { openSqliteStorage } from ${JSON.stringify(new URL('./sqlite.ts', import.meta.url).href)}
      const storage = openSqliteStorage(${JSON.stringify(file)})
      for (let i = 0; i < 50; i++) {
        await storage.transaction(async (tx) => {
          const n = Number((await tx.get('n')) ?? 0)
          await tx.put('n', String(n + 1))
        })
      }
      storage.close()`
    const run = () =>
      promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        timeout: 20_000,
      })
    await Promise.all([run(), run()])
    const storage = openSqliteStorage(file)
    assert.equal(await storage.get('n'), '100')
    storage.close()
  })

  it('keeps data after close and reopen', async () => {
    const file = freshFile()
    const first = openSqliteStorage(file)
    await first.put('durable', 'yes')
    await first.put('bytes', new Uint8Array([7]))
    first.close()
    const second = openSqliteStorage(file)
    assert.equal(await second.get('durable'), 'yes')
    assert.deepEqual(await second.get('bytes'), new Uint8Array([7]))
    second.close()
  })
})

describe('openBindings', () => {
  it('opens one storage per file, relative to the base directory', async () => {
    const bindings = openBindings(
      {
        STORE: { path: 'b/kv.sqlite' },
        SAME: { path: './b/kv.sqlite' },
        OTHER: { path: 'o.sqlite' },
      },
      { baseDir: dir },
    )
    assert.equal(bindings['STORE'], bindings['SAME'])
    assert.notEqual(bindings['STORE'], bindings['OTHER'])
    assert.equal(
      openBindings({ AGAIN: { path: 'b/kv.sqlite' } }, { baseDir: dir })['AGAIN'],
      bindings['STORE'],
    )
    await bindings['STORE']!.put('k', 'v')
    const again = openSqliteStorage(join(dir, 'b/kv.sqlite'))
    assert.equal(await again.get('k'), 'v')
    again.close()
  })

  it('says which binding lacks a path', () => {
    assert.throws(
      () => openBindings({ STORE: { path: '' } }, { baseDir: dir }),
      /"STORE" needs a path/,
    )
  })
})
