/**
 * End to end: `/healthz` on the metrics listener of `sockworker serve`, read
 * with `curl` as HAProxy's `option httpchk` or a Kubernetes probe would. It
 * answers 200 `ready` while every worker has a replica, 503 `failing` while
 * one has none, and 503 `draining` from SIGTERM on, while the listeners still
 * accept for `[drain] delay_ms`.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import { within } from '../helpers/timers.ts'
import { openClient } from './support/clients.ts'
import { fixture, jsonLog, serveProject, workerToml } from './support/harness.ts'

const run = promisify(execFile)

/** One probe: the status code and the body. */
async function probe(url: string): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '--max-time', '5', '-w', '%{http_code}', url])
  return { status: Number(stdout.slice(-3)), body: stdout.slice(0, -3) }
}

/** Probes every 50 ms (bounded) until the body starts with `state`: the state moves with the replicas. */
async function probeUntil(url: string, state: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const answer = await probe(url)
    if (answer.body.startsWith(state)) return answer
    if (Date.now() > deadline) throw new Error(`/healthz never said ${state}; last ${answer.body}`)
    await delay(50)
  }
}

test('/healthz: ready, failing while a worker has no replica, ready again, then draining', async () => {
  const toml =
    `${jsonLog}[metrics]\nlisten = "127.0.0.1:0"\n[drain]\ndelay_ms = 3000\n` +
    workerToml({ name: 'b', script: 'breakable.js' })
  const script = await readFile(fixture('breakable.js'), 'utf8')
  await using served = await serveProject({ 'sockworker.toml': toml, 'breakable.js': script }, 1)
  const url = served.metricsUrl?.replace(/\/metrics$/, '/healthz') ?? ''
  const [port = 0] = served.ports

  assert.deepEqual(await probe(url), { status: 200, body: 'ready\n' })
  const { stdout: head } = await run('curl', ['-sI', '--max-time', '5', url])
  assert.match(head, /^HTTP\/1\.1 200/)

  await writeFile(join(served.dir, 'broken'), '')
  {
    await using client = await openClient(port)
    await client.until(/hello \d+\n/)
    client.send('exit\n')
    await within(client.closed, 5000, 'the replica to exit')
  }
  assert.deepEqual(await probeUntil(url, 'failing'), {
    status: 503,
    body: 'failing: worker b has no replica serving\n',
  })

  await rm(join(served.dir, 'broken'))
  assert.deepEqual(await probeUntil(url, 'ready'), { status: 200, body: 'ready\n' })

  served.cli.child.kill('SIGTERM')
  assert.deepEqual(await probeUntil(url, 'draining', 2000), { status: 503, body: 'draining\n' })
  // Within the delay the listener still accepts and the worker still answers.
  await using late = await openClient(port)
  await late.until(/hello \d+\n/)
  await served.waitForLog((entry) => entry.msg === 'stopped', { timeoutMs: 15_000 })
})
