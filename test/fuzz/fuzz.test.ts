/**
 * CI's short fuzzing budget: every target in `fuzz/targets/` gets a few
 * thousand inputs, in process, from a fixed seed. A finding fails the test
 * with the input in hex, to turn into a regression test. The long runs are
 * `npm run fuzz` (see docs/fuzzing.md).
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { test } from 'node:test'
import { runTarget } from '../../fuzz/engine/run-target.ts'
import type { FuzzTarget } from '../../fuzz/engine/target.ts'

const RUNS = 3000
const targets = new URL('../../fuzz/targets/', import.meta.url)
const names = readdirSync(targets).filter((file) => file.endsWith('.ts'))

test('there is a fuzz target per parser', () => {
  assert.ok(names.length >= 19, `only ${names.length} fuzz targets`)
})

for (const file of names) {
  test(`fuzz ${file.slice(0, -3)}: ${RUNS} inputs, no crash, hang or unbounded allocation`, async () => {
    const { default: target } = (await import(new URL(file, targets).href)) as {
      default: FuzzTarget
    }
    const stats = await runTarget(target, {
      runs: RUNS,
      seed: 20261201,
      hangMs: 1000,
      allocBytes: 64 << 20,
    })
    const findings = stats.findings.map(
      ({ kind, message, input }) =>
        `${kind}: ${message}\n  input: ${Buffer.from(input).toString('hex')}`,
    )
    assert.deepEqual(findings, [])
    assert.equal(stats.inputs, RUNS)
  })
}
