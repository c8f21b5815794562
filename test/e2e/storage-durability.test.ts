/**
 * End to end: a storage write that the worker's `await` saw complete
 * survives `kill -9`, of the replica and of the supervisor. The worker
 * (support/sandbox-probe.js) stores N keys, one awaited put after another,
 * and answers only then; the test kills at once and counts the keys in
 * the restarted replica, then in a fresh `serve` on the same files.
 * SQLite runs in WAL mode with synchronous = NORMAL: a commit is in the
 * WAL, in the kernel's page cache, before put() resolves, so a killed
 * process loses nothing (docs/runtime.md, "Storage durability").
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { startCli } from './cli.ts'
import { openClient } from './support/clients.ts'
import { fixture, jsonLog, serveProject } from './support/harness.ts'

const toml = `${jsonLog}
[[workers]]
name = "store"
script = "probe.js"
vars = { NAME = "store" }
[workers.storage]
STORE = { path = "data/store.sqlite" }
[[workers.listeners]]
type = "tcp"
address = "127.0.0.1:0"
`

/** Sends `line` on a fresh connection to `port` and returns the JSON reply's value. */
async function ask(port: number, line: string): Promise<unknown> {
  await using client = await openClient(port)
  const [, pid] = await client.until(/^hello store (\d+)\n/)
  const from = client.text.length
  client.send(`${line}\n`)
  const [json = ''] = await client.until(/\{.*\}\n/, 10_000, from)
  const reply = JSON.parse(json) as { ok: boolean; value?: unknown; message?: string }
  assert.ok(reply.ok, `"${line}" failed in replica ${pid}: ${reply.message}`)
  return reply.value
}

test('awaited writes survive kill -9 of the replica, then of the supervisor', async () => {
  await using served = await serveProject(
    {
      'sockworker.toml': toml,
      'probe.js': readFileSync(fixture('sandbox-probe.js'), 'utf8'),
      'helper.js': 'export const helper = () => "imported"\n',
    },
    1,
  )
  const [port = 0] = served.ports
  const [replica] = served.started('store')
  assert.ok(replica?.pid !== undefined)

  assert.equal(await ask(port, 'fill 200'), 200)
  process.kill(replica.pid, 'SIGKILL')
  await served.waitForLog((e) => e.msg === 'replica started' && e.pid !== replica.pid)
  assert.equal(await ask(port, 'count'), 200, 'every key after the replica was killed')

  assert.equal(await ask(port, 'fill 400'), 400)
  served.cli.child.kill('SIGKILL')
  await served.cli.exited
  await using again = startCli(['serve', '--config', join(served.dir, 'sockworker.toml')], {
    cwd: served.dir,
  })
  const [, second = '0'] = await again.waitFor(/"ready","listener":"tcp 127\.0\.0\.1:(\d+)"/)
  assert.equal(await ask(Number(second), 'count'), 400, 'every key after the supervisor was killed')
})
