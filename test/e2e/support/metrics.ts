/**
 * Reading `sockworker serve`'s Prometheus endpoint in e2e tests, with
 * `curl` as a scraper would.
 */
import { execFile } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * One scrape: `name{worker="…"}` → value, for every sample with a worker
 * label. Further labels' values follow the name in brackets, comma-separated:
 * `handler_duration_seconds_bucket[+Inf] m`, `quic_streams_total[incoming,bidirectional] m`.
 */
export async function scrape(url: string): Promise<Map<string, number>> {
  const { stdout } = await run('curl', ['-s', '--fail', '--max-time', '5', url])
  const samples = new Map<string, number>()
  for (const line of stdout.split('\n')) {
    const match = /^sockworker_(\w+)\{worker="([^"]+)"((?:,\w+="[^"]*")*)\} (\S+)$/.exec(line)
    if (match === null) continue
    const [, name, worker, rest = '', value] = match
    const labels = [...rest.matchAll(/="([^"]*)"/g)].map((m) => m[1])
    samples.set(`${name}${labels.length === 0 ? '' : `[${labels}]`} ${worker}`, Number(value))
  }
  return samples
}

/**
 * Scrapes until `ok` accepts the figures. Replicas report every second, so
 * this polls (every 100 ms, bounded) rather than waiting for an event.
 */
export async function scrapeUntil(
  url: string,
  ok: (figure: (name: string, worker?: string) => number) => boolean,
  what: string,
): Promise<(name: string, worker?: string) => number> {
  const deadline = Date.now() + 5000
  for (;;) {
    const samples = await scrape(url)
    const figure = (name: string, worker = 'm') => samples.get(`${name} ${worker}`) ?? Number.NaN
    if (ok(figure)) return figure
    if (Date.now() > deadline) throw new Error(`Metrics never showed ${what}:\n${[...samples]}`)
    await delay(100)
  }
}
