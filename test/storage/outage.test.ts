/**
 * A storage server that goes away and comes back: while redis-server or
 * PostgreSQL is down, every operation fails within its timeout with
 * ERR_STORAGE_UNAVAILABLE and a message naming the server (no hang); once
 * the server is back, the same storage object works again, no restart.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import type { StorageError } from '../../packages/sockworker/src/storage/errors.ts'
import { startBackends } from './backends.ts'

const started = await startBackends()
after(() => started.stop())

const TIMEOUT_MS = 1000

/** Calls `op` until it succeeds, for at most `timeoutMs`; returns its result. */
async function eventually<T>(op: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await op()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** Awaits `op`, which must fail as unavailable within the timeout (plus slack for a loaded machine). */
async function failsBounded(op: () => Promise<unknown>, server: string): Promise<void> {
  const began = performance.now()
  await assert.rejects(op(), (error: StorageError) => {
    assert.equal(error.code, 'ERR_STORAGE_UNAVAILABLE', error.stack)
    assert.match(error.message, new RegExp(`^Storage at ${server}.* is unavailable: .+`))
    return true
  })
  const took = performance.now() - began
  assert.ok(took < TIMEOUT_MS + 2000, `failed after ${Math.round(took)} ms`)
}

for (const name of ['redis', 'postgres'] as const) {
  describe(`storage outage: ${name}`, () => {
    const backend = started.backends.find((b) => b.name === name)!
    const server = name === 'redis' ? started.redis : started.pg

    test('fails clearly and within its timeout while the server is down, then works again', async () => {
      const storage = backend.open(backend.spec(), { timeoutMs: TIMEOUT_MS })
      try {
        await storage.put('before', 'kept')
        await server.down()
        const scheme = name === 'redis' ? 'redis://' : 'postgres://'
        await failsBounded(() => storage.get('before'), scheme)
        await failsBounded(() => storage.put('during', 'x'), scheme)
        await failsBounded(() => storage.transaction(async (tx) => tx.put('during', 'x')), scheme)
        // A storage first used while the server is down (a replica that
        // started during the outage) fails the same way, and recovers too.
        const late = backend.open(backend.spec(), { timeoutMs: TIMEOUT_MS })
        await failsBounded(() => late.get('k'), scheme)
        await server.up()
        await eventually(() => storage.put('after', 'yes'))
        await eventually(() => late.put('k', 'v'))
        assert.equal(await late.get('k'), 'v')
        await late.close()
        assert.equal(await storage.get('after'), 'yes')
        const n = await storage.transaction(async (tx) => {
          const next = Number((await tx.get('n')) ?? 0) + 1
          await tx.put('n', String(next))
          return next
        })
        assert.equal(n, 1, 'a transaction runs: no lock was left behind')
        // PostgreSQL keeps its data over a restart; this Redis persists nothing.
        assert.equal(await storage.get('before'), name === 'postgres' ? 'kept' : null)
        assert.equal(await storage.get('during'), null)
      } finally {
        await storage.close()
      }
    })

    test('waiting longer than its timeout for another transaction fails as busy, not forever', async () => {
      const spec = backend.spec()
      const holder = backend.open(spec)
      const waiter = backend.open(spec, { timeoutMs: 500 })
      const { promise: holding, resolve: held } = Promise.withResolvers<void>()
      const { promise: gate, resolve: release } = Promise.withResolvers<void>()
      const long = holder.transaction(async (tx) => {
        await tx.put('k', 'holder')
        held()
        await gate
      })
      try {
        await holding
        for (const op of [
          () => waiter.transaction(async (tx) => tx.put('k', 'waiter')),
          () => waiter.put('k', 'plain'),
        ]) {
          const began = performance.now()
          await assert.rejects(op(), {
            code: 'ERR_STORAGE_BUSY',
            message: /held it for over 500 ms/,
          })
          assert.ok(performance.now() - began < 3000)
        }
      } finally {
        release()
        await long
      }
      assert.equal(await waiter.get('k'), 'holder')
      assert.equal(await waiter.put('k', 'after'), true, 'free again once the holder commits')
      await Promise.all([holder.close(), waiter.close()])
    })
  })
}
