/**
 * Runs the conformance and interop suites on Deno and Bun, with the same
 * files Node runs (`npm run test:unit`), and prints one pass count per
 * runtime. Both runtimes run `node:test` files with their own test runners
 * (`deno test`, `bun test`); see docs/decisions.md for why no other runner.
 *
 *   node scripts/test-runtimes.ts [deno] [bun] [-- files…]
 *
 * Deno resolves `@sockworker/sockets` through deno.json (to the Deno
 * adapter); Bun through the package's `exports` conditions, with the
 * in-repo `sockworker-source` condition so that it runs the sources.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'

const suites = ['test/conformance/', 'test/interop/']

interface Runtime {
  bin: string
  args: (files: string[]) => string[]
  /** Passed and failed leaf tests, read from the runner's output. */
  count: (output: string) => { passed: number; failed: number } | undefined
}

const runtimes: Record<string, Runtime> = {
  deno: {
    bin: 'node_modules/.bin/deno',
    // TAP, because Deno's own summary counts a describe() block as one test.
    args: (files) => ['test', '-A', '--no-check', '--reporter=tap', ...files],
    count: (output) => {
      const groups = (output.match(/^\s*# Subtest: /gm) ?? []).length
      const ok = (output.match(/^\s*ok \d+ /gm) ?? []).length
      const notOk = (output.match(/^\s*not ok \d+ /gm) ?? []).length
      if (ok + notOk === 0) return undefined
      // Each group reports one line of its own; it fails when a test in it fails.
      const failedGroups = Math.min(groups, notOk)
      return { passed: ok - (groups - failedGroups), failed: notOk - failedGroups }
    },
  },
  bun: {
    bin: 'node_modules/.bin/bun',
    // The in-repo condition that resolves the package to its sources (.npmrc).
    args: (files) => ['test', '--conditions', 'sockworker-source', '--timeout', '20000', ...files],
    count: (output) => {
      const passed = /^\s*(\d+) pass$/m.exec(output)?.[1]
      const failed = /^\s*(\d+) fail$/m.exec(output)?.[1]
      return passed === undefined ? undefined : { passed: +passed, failed: Number(failed ?? 0) }
    },
  },
}

function run(name: string, runtime: Runtime, files: string[]): Promise<string> {
  if (!existsSync(runtime.bin)) {
    return Promise.resolve(`${name}: FAILED, ${runtime.bin} is missing (npm install)`)
  }
  return new Promise((resolve) => {
    const child = spawn(runtime.bin, runtime.args(files), { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      process.stdout.write(chunk)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('close', (code) => {
      const counts = runtime.count(output)
      const tally = counts ? `${counts.passed} passed, ${counts.failed} failed` : 'no tests ran'
      const ok = code === 0 && counts !== undefined && counts.failed === 0
      resolve(`${name}: ${tally}${ok ? '' : ` (exit code ${code}), FAILED`}`)
    })
  })
}

const argv = process.argv.slice(2)
const dash = argv.indexOf('--')
const names = (dash === -1 ? argv : argv.slice(0, dash)).filter((a) => a in runtimes)
const files = dash === -1 ? suites : argv.slice(dash + 1)
const lines: string[] = []
for (const name of names.length > 0 ? names : Object.keys(runtimes)) {
  lines.push(await run(name, runtimes[name] as Runtime, files))
}
console.log(`\n${lines.join('\n')}`)
if (lines.some((line) => line.endsWith('FAILED'))) process.exitCode = 1
