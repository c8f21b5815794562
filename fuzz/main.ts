/**
 * `npm run fuzz`: runs every fuzz target (or those named) for a budget of
 * inputs each, prints progress while it goes and a table at the end, and
 * saves each finding's input under `fuzz/findings/`.
 *
 *   npm run fuzz                                   # 1,000,000 inputs per target
 *   npm run fuzz -- --runs 1e5 --target proxy-v2,resp
 *   npm run fuzz -- --max-time 120 --jobs 2        # at most 2 minutes per target, 2 at once
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Finding, RunStats } from './engine/run-target.ts'
import { supervise } from './engine/supervise.ts'

const HELP = `Usage: npm run fuzz -- [--runs N] [--target a,b] [--seed N] [--hang-ms N] [--max-time S] [--jobs N] [--out FILE]`
const targetsDir = new URL('./targets/', import.meta.url)
const findingsDir = new URL('./findings/', import.meta.url)

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1e6' },
    target: { type: 'string', multiple: true },
    seed: { type: 'string', default: '1' },
    'hang-ms': { type: 'string', default: '1000' },
    'max-time': { type: 'string', default: '86400' },
    jobs: { type: 'string', default: '1' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log(HELP)
  process.exit(0)
}
const runs = count('--runs', values.runs)
const seed = count('--seed', values.seed)
const hangMs = count('--hang-ms', values['hang-ms'])
const maxMs = count('--max-time', values['max-time']) * 1000
const jobs = count('--jobs', values.jobs)
const all = readdirSync(targetsDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -3))
  .sort()
const wanted = values.target?.flatMap((names) => names.split(',')) ?? all
for (const name of wanted) {
  if (!all.includes(name)) {
    console.error(`Unknown fuzz target "${name}": expected one of ${all.join(', ')}`)
    process.exit(2)
  }
}

const rows: Array<{ name: string; stats: RunStats; ms: number }> = []
const queue = [...wanted]
await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, () => drain()))
rows.sort((a, b) => wanted.indexOf(a.name) - wanted.indexOf(b.name))
const table = formatTable(rows)
console.log(`\n${table}`)
if (values.out !== undefined) writeFileSync(values.out, `${table}\n`)
const found = rows.some(({ stats }) => stats.crashes + stats.hangs + stats.allocs > 0)
process.exitCode = found ? 1 : 0

async function drain(): Promise<void> {
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const started = performance.now()
    let lastReport = started
    const stats = await supervise(new URL(`${name}.ts`, targetsDir).pathname, {
      runs,
      seed,
      hangMs,
      allocBytes: 64 << 20,
      stallMs: Math.max(10_000, 10 * hangMs),
      heapMb: 1024,
      maxMs,
      onProgress(counts) {
        const now = performance.now()
        if (now - lastReport < 10_000) return
        lastReport = now
        const rate = Math.round(counts.inputs / ((now - started) / 1000))
        console.log(
          `[${name}] ${counts.inputs.toLocaleString('en')} / ${runs.toLocaleString('en')} inputs, ` +
            `${rate.toLocaleString('en')}/s, crashes ${counts.crashes}, hangs ${counts.hangs}, allocs ${counts.allocs}`,
        )
      },
      onFinding: (finding) => save(name, finding),
    })
    const ms = performance.now() - started
    rows.push({ name, stats, ms })
    console.log(`[${name}] finished: ${stats.inputs.toLocaleString('en')} inputs in ${seconds(ms)}`)
  }
}

function save(name: string, finding: Finding): void {
  mkdirSync(findingsDir, { recursive: true })
  const file = new URL(`${name}-${finding.kind}-${finding.index}.bin`, findingsDir)
  writeFileSync(file, finding.input)
  const hex = Buffer.from(finding.input.subarray(0, 64)).toString('hex')
  console.log(
    `[${name}] ${finding.kind.toUpperCase()} at input ${finding.index}: ${finding.message}`,
  )
  console.log(`  input (${finding.input.length} bytes, saved to ${file.pathname}): ${hex}`)
  if (finding.stack !== undefined) console.log(finding.stack.split('\n').slice(0, 6).join('\n'))
}

function formatTable(rows: Array<{ name: string; stats: RunStats; ms: number }>): string {
  const lines = [
    '| target | inputs | crashes | hangs | allocs | time |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const { name, stats, ms } of rows) {
    const { inputs, crashes, hangs, allocs } = stats
    lines.push(
      `| ${name} | ${inputs.toLocaleString('en')} | ${crashes} | ${hangs} | ${allocs} | ${seconds(ms)} |`,
    )
  }
  return lines.join('\n')
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function count(flag: string, text: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`Invalid ${flag} "${text}": expected a whole number such as 1000 or 1e6\n${HELP}`)
    process.exit(2)
  }
  return value
}
