/**
 * One storage conformance suite, run against every backend on a real
 * server: SQLite (a file), Redis (redis-server) and PostgreSQL. Same
 * interface, same answers: values as stored, expiry, onlyIf, list order
 * (UTF-8 byte order), transactions, and two processes incrementing one
 * counter with nothing lost and no value handed out twice.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Backend, type Closable, startBackends } from './backends.ts'

const started = await startBackends()
after(() => started.stop())

/** Polls `probe` until it holds; bounded, for a real clock running out. */
async function eventually(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`Not true within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

for (const backend of started.backends) {
  describe(`storage conformance: ${backend.name}`, () => {
    let storage: Closable
    before(() => {
      storage = backend.open(backend.spec())
    })
    after(() => storage.close())
    const fresh = () => backend.open(backend.spec())

    it('gets, puts, deletes strings and bytes as stored', async () => {
      await using s = disposable(fresh())
      assert.equal(await s.get('a'), null)
      assert.equal(await s.put('a', 'hello'), true)
      assert.equal(await s.get('a'), 'hello')
      await s.put('b', new Uint8Array([0, 1, 255]))
      assert.deepEqual(await s.get('b'), new Uint8Array([0, 1, 255]))
      await s.put('empty', '')
      await s.put('none', new Uint8Array(0))
      assert.equal(await s.get('empty'), '')
      assert.deepEqual(await s.get('none'), new Uint8Array(0))
      await s.put('uni', 'héllo 😀')
      assert.equal(await s.get('uni'), 'héllo 😀')
      await s.put('a', 'again')
      assert.equal(await s.get('a'), 'again')
      assert.equal(await s.delete('a'), true)
      assert.equal(await s.delete('a'), false)
      assert.deepEqual(await s.getMany(['b', 'a', 'zz']), [new Uint8Array([0, 1, 255]), null, null])
      assert.deepEqual(await s.getMany([]), [])
    })

    it('lists in UTF-8 byte order, by prefix, up to a limit', async () => {
      await using s = disposable(fresh())
      for (const key of [
        'user:2',
        'user:1',
        'item:1',
        'user:10',
        'usex',
        'z',
        'é',
        '\uFFFD',
        '😀',
      ]) {
        await s.put(key, key)
      }
      const keys = async (options?: { prefix?: string; limit?: number }) =>
        (await s.list(options)).map((entry) => entry.key)
      assert.deepEqual(await keys(), [
        'item:1',
        'user:1',
        'user:10',
        'user:2',
        'usex',
        'z',
        'é',
        '\uFFFD',
        '😀',
      ])
      assert.deepEqual(await keys({ prefix: 'user:' }), ['user:1', 'user:10', 'user:2'])
      assert.deepEqual(await keys({ prefix: 'user:', limit: 2 }), ['user:1', 'user:10'])
      assert.deepEqual(await keys({ prefix: 'nope' }), [])
      assert.deepEqual(await s.list({ prefix: 'item' }), [{ key: 'item:1', value: 'item:1' }])
    })

    it('writes onlyIf absent or present', async () => {
      await using s = disposable(fresh())
      assert.equal(await s.put('k', 'v1', { onlyIf: 'present' }), false)
      assert.equal(await s.get('k'), null)
      assert.equal(await s.put('k', 'v1', { onlyIf: 'absent' }), true)
      assert.equal(await s.put('k', 'v2', { onlyIf: 'absent' }), false)
      assert.equal(await s.get('k'), 'v1')
      assert.equal(await s.put('k', 'v3', { onlyIf: 'present' }), true)
      assert.equal(await s.get('k'), 'v3')
    })

    it('rejects values that are neither strings nor bytes, clearly', async () => {
      await assert.rejects(storage.put('k', 42 as unknown as string), {
        name: 'TypeError',
        message: /strings or Uint8Arrays/,
      })
    })

    it('hides expired keys from every operation', async () => {
      await using s = disposable(fresh())
      const past = Date.now() - 1000
      await s.put('gone', 'x', { expiresAt: past })
      await s.put('long', 'y', { expiresIn: 60_000 })
      await s.put('forever', 'z')
      assert.equal(await s.get('gone'), null)
      assert.equal(await s.ttl('gone'), undefined)
      const ttl = await s.ttl('long')
      assert.ok(ttl !== null && ttl !== undefined && ttl > 50_000 && ttl <= 60_000, String(ttl))
      assert.equal(await s.ttl('forever'), null)
      assert.equal(await s.ttl('missing'), undefined)
      assert.deepEqual(await s.getMany(['gone', 'long']), [null, 'y'])
      assert.deepEqual(
        (await s.list()).map((entry) => entry.key),
        ['forever', 'long'],
      )
      assert.equal(await s.delete('gone'), false)
      assert.equal(await s.expire('gone', null), false)
    })

    it('lets a key run out on the clock', async () => {
      await using s = disposable(fresh())
      await s.get('warm-up') // the first operation connects (and may create a table)
      // Long enough to read it back on a loaded machine; short enough to wait for.
      await s.put('short', 'x', { expiresIn: 1000 })
      assert.equal(await s.get('short'), 'x')
      await eventually(async () => (await s.get('short')) === null)
      assert.deepEqual(await s.list(), [])
    })

    it('treats an expired key as absent for onlyIf, and a new value has no old expiry', async () => {
      await using s = disposable(fresh())
      await s.put('k', 'old', { expiresAt: Date.now() - 1 })
      assert.equal(await s.put('k', 'new', { onlyIf: 'present' }), false)
      assert.equal(await s.put('k', 'new', { onlyIf: 'absent' }), true)
      assert.equal(await s.get('k'), 'new')
      assert.equal(await s.ttl('k'), null)
    })

    it('sets and clears an expiry with expire', async () => {
      await using s = disposable(fresh())
      await s.put('k', 'v')
      assert.equal(await s.expire('k', Date.now() + 60_000), true)
      const ttl = await s.ttl('k')
      assert.ok(typeof ttl === 'number' && ttl > 50_000, String(ttl))
      assert.equal(await s.expire('k', null), true)
      assert.equal(await s.ttl('k'), null)
      assert.equal(await s.expire('k', Date.now() - 1), true)
      assert.equal(await s.get('k'), null)
      assert.equal(await s.expire('missing', Date.now() + 1000), false)
    })

    it('commits every operation of a transaction together, and it sees its own writes', async () => {
      await using s = disposable(fresh())
      await s.put('gone', 'before')
      const result = await s.transaction(async (tx) => {
        await tx.put('a', '1')
        await tx.put('b', new Uint8Array([2]), { expiresIn: 60_000 })
        await tx.delete('gone')
        assert.equal(await s.get('a').catch(() => 'refused'), 'refused')
        assert.deepEqual(await tx.getMany(['a', 'gone', 'b']), ['1', null, new Uint8Array([2])])
        assert.deepEqual(
          (await tx.list()).map((entry) => entry.key),
          ['a', 'b'],
        )
        assert.ok(((await tx.ttl('b')) ?? 0) > 50_000)
        assert.equal(await tx.put('a', 'x', { onlyIf: 'absent' }), false)
        return tx.get('a')
      })
      assert.equal(result, '1')
      assert.deepEqual(await s.getMany(['a', 'b', 'gone']), ['1', new Uint8Array([2]), null])
    })

    it('rolls back when work throws, and rethrows', async () => {
      await using s = disposable(fresh())
      await s.put('a', 'before')
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.put('a', 'during')
          await tx.put('b', 'during')
          throw new Error('boom')
        }),
        /boom/,
      )
      assert.deepEqual(await s.getMany(['a', 'b']), ['before', null])
      assert.equal(await s.transaction(async (tx) => tx.get('a')), 'before', 'usable afterwards')
    })

    it("keeps a transaction's writes from others (a read meanwhile waits, or sees the old state)", async () => {
      await using s = disposable(fresh())
      const { promise: written, resolve: wrote } = Promise.withResolvers<void>()
      const { promise: gate, resolve: release } = Promise.withResolvers<void>()
      const transaction = s.transaction(async (tx) => {
        await tx.put('k', 'inside')
        wrote()
        await gate
        throw new Error('undo')
      })
      await written
      // SQLite queues this read behind the transaction; Redis and PostgreSQL
      // answer from the committed state at once. Either way: never 'inside'.
      const outside = s.get('k')
      release()
      await assert.rejects(transaction, /undo/)
      assert.equal(await outside, null)
      assert.equal(await s.get('k'), null)
    })

    it('serialises concurrent read-modify-write transactions', async () => {
      await using s = disposable(fresh())
      const increment = () =>
        s.transaction(async (tx) => {
          const n = Number((await tx.get('n')) ?? 0)
          await new Promise((resolve) => setImmediate(resolve))
          await tx.put('n', String(n + 1))
        })
      await Promise.all([...Array(20)].map(increment))
      assert.equal(await s.get('n'), '20')
    })

    it('rejects a call on the storage itself from inside a transaction, instead of hanging', async () => {
      await assert.rejects(
        storage.transaction(async () => storage.get('k')),
        /use its `tx`, not the storage itself/,
      )
      await assert.rejects(
        storage.transaction(async () => storage.transaction(async () => 1)),
        /use its `tx`/,
      )
      assert.equal(await storage.get('k'), null, 'the storage still works afterwards')
      const tx = await storage.transaction(async (tx) => tx)
      await assert.rejects(tx.get('k'), /transaction has ended/)
    })

    it('lets two instances on the same data see each other and increment atomically', async () => {
      const spec = backend.spec()
      await using one = disposable(backend.open(spec))
      await using two = disposable(backend.open(spec))
      await one.put('shared', 'from one')
      assert.equal(await two.get('shared'), 'from one')
      await two.delete('shared')
      assert.equal(await one.get('shared'), null)
      const increment = (s: Closable) =>
        s.transaction(async (tx) => {
          const n = Number((await tx.get('n')) ?? 0)
          await tx.put('n', String(n + 1))
        })
      await Promise.all([...Array(10)].flatMap(() => [increment(one), increment(two)]))
      assert.equal(await one.get('n'), '20')
    })

    it('two processes incrementing one counter lose nothing and hand out no value twice', async () => {
      const spec = backend.spec()
      const perProcess = 60
      const script = fileURLToPath(new URL('increment.ts', import.meta.url))
      const run = () =>
        promisify(execFile)(process.execPath, [script, JSON.stringify(spec), String(perProcess)], {
          timeout: 60_000,
        })
      const outputs = await Promise.all([run(), run()])
      const handedOut = outputs.flatMap(({ stdout }) => JSON.parse(stdout) as number[])
      await using s = disposable(backend.open(spec))
      assert.equal(await s.get('n'), String(2 * perProcess))
      assert.deepEqual(
        handedOut.toSorted((a, b) => a - b),
        [...Array(2 * perProcess)].map((_, i) => i + 1),
        'every value from 1 to the total, each once',
      )
    })
  })
}

/** `await using` for a storage whose close may be sync or async. */
function disposable(storage: Closable): Closable & AsyncDisposable {
  return Object.assign(storage, { [Symbol.asyncDispose]: async () => storage.close() })
}

export type { Backend }
