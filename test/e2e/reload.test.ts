/**
 * End to end: `sockworker serve` reloads on SIGHUP without losing a
 * connection, lets connections open before the reload finish on the old
 * replicas, and on SIGTERM lets an open connection finish before it exits 0.
 * The worker greets with its version; the test rewrites it from v1 to v2.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { freePort } from '../helpers/ports.ts'
import { within } from '../helpers/timers.ts'
import { oneShot, openClient, Progress, runLoad } from './support/clients.ts'
import { fixture, jsonLog, type Served, serveProject, workerToml } from './support/harness.ts'

const v1 = await readFile(fixture('versioned.js'), 'utf8')
const v2 = v1.replace("const version = 'v1'", "const version = 'v2'")
assert.notEqual(v1, v2, 'versioned.js declares its version as the test expects')

/**
 * The project: worker `r` (v1, two replicas). A fixed port, taken free a
 * moment ago: with port 0 a reload moves the listener (see the last test).
 */
async function project(drainMs: number, address?: string) {
  const toml =
    jsonLog +
    workerToml({
      name: 'r',
      script: 'worker.js',
      replicas: 2,
      limits: { drain_timeout_ms: drainMs },
      address: address ?? `127.0.0.1:${await freePort()}`,
    })
  return { 'sockworker.toml': toml, 'worker.js': v1 }
}

/** Writes v2 and sends SIGHUP; returns the log index to look for the reload from. */
async function reloadToV2(served: Served): Promise<number> {
  await served.write('worker.js', v2)
  const from = served.logs().length
  served.cli.child.kill('SIGHUP')
  return from
}

test('a reload under load loses no connection, and new connections get the new version', async (t) => {
  await using served = await serveProject(await project(5000), 1)
  const [port = 0] = served.ports
  const stop = new AbortController()
  const progress = new Progress()
  const results: Array<{ reply: string; startedAt: number }> = []
  const load = runLoad({
    port,
    concurrency: 10,
    accept: (reply) => reply === 'v1\n' || reply === 'v2\n',
    signal: stop.signal,
    onResult: ({ reply, startedAt }) => {
      progress.tick()
      results.push({ reply, startedAt })
    },
  })
  try {
    await progress.after(100)
    const hupAt = performance.now()
    const from = await reloadToV2(served)
    await served.waitForLog((e) => e.msg === 'reloaded' && e.worker === 'r', {
      from,
      timeoutMs: 15_000,
    })
    const reloadedAt = performance.now()
    await progress.after(100)
    stop.abort()
    const { ok, failures, replies } = await load
    const after = results.filter((r) => r.startedAt > reloadedAt)
    t.diagnostic(
      `SIGHUP → "reloaded" ${(reloadedAt - hupAt).toFixed(0)} ms; ${ok} ok, ` +
        `${failures.length} failed; v1 ${replies.get('v1\n') ?? 0}, v2 ${replies.get('v2\n') ?? 0}`,
    )
    assert.deepEqual(failures, [], 'no connection was lost')
    assert.ok((replies.get('v1\n') ?? 0) > 0 && (replies.get('v2\n') ?? 0) > 0, 'both versions')
    assert.ok(after.length > 0)
    assert.deepEqual(
      after.filter((r) => r.reply !== 'v2\n'),
      [],
      'every connection made after the reload got v2',
    )
    for (let i = 0; i < 5; i++)
      assert.deepEqual(await oneShot(port), { reply: 'v2\n', error: undefined })
  } finally {
    stop.abort()
    await load
  }
})

test('a connection open before the reload keeps working on the old replica until it closes', async (t) => {
  await using served = await serveProject(await project(10_000), 1)
  const [port = 0] = served.ports
  const oldPids = served.started('r').map((e) => e.pid ?? 0)
  await using held = await openClient(port)
  await held.until(/^v1\n/)
  held.send('ping 1\n')
  await held.until(/ping 1\n/)

  const from = await reloadToV2(served)
  const hupAt = performance.now()
  // New connections move to v2 while `held` is still open on v1.
  const deadline = Date.now() + 10_000
  while ((await oneShot(port)).reply !== 'v2\n') {
    assert.ok(Date.now() < deadline, 'New connections did not get v2 within 10 s')
  }
  const switchedAt = performance.now()
  for (let i = 2; i <= 4; i++) {
    held.send(`ping ${i}\n`)
    await held.until(new RegExp(`ping ${i}\\n`))
  }
  const isReloaded = (e: { msg?: string }) => e.msg === 'reloaded'
  assert.ok(!served.logs().slice(from).some(isReloaded), 'the old generation is still draining')
  assert.ok(oldPids.some(alive), 'the old replica holding the connection still runs')

  held.socket.end()
  assert.equal(await within(held.closed, 5000, 'the held connection to close'), undefined)
  await served.waitForLog(isReloaded, { from, timeoutMs: 5000 })
  const drainedAt = performance.now()
  assert.ok(!oldPids.some(alive), 'the old replicas exited once drained')
  t.diagnostic(
    `SIGHUP → new connections on v2 ${(switchedAt - hupAt).toFixed(0)} ms; the held ` +
      `connection echoed on v1 throughout; drained ${(drainedAt - hupAt).toFixed(0)} ms after SIGHUP`,
  )
})

test('SIGTERM drains: an open connection gets its late reply, then the process exits 0', async () => {
  await using served = await serveProject(await project(5000), 1)
  const [port = 0] = served.ports
  await using client = await openClient(port)
  await client.until(/^v1\n/)
  client.send('slow\n')
  const from = served.logs().length
  served.cli.child.kill('SIGTERM')
  await client.until(/late v1\n/, 5000)
  assert.equal(await within(client.closed, 5000, 'the connection to close'), undefined)
  assert.equal(await within(served.cli.exited, 10_000, 'the CLI to exit'), 0)
  const messages = served
    .logs()
    .slice(from)
    .map((e) => e.msg)
  assert.ok(messages.includes('SIGTERM: draining') && messages.at(-1) === 'stopped', `${messages}`)
})

/**
 * Regression: a reload moved a listener configured with port 0 to a new
 * port. `Supervisor.#bind` rebinds every port-0 listener on reload instead
 * of reusing the handle bound at start, then closes the old handle as
 * unused: clients of the port the ready line announced get ECONNREFUSED
 * (and connections queued on it, ECONNRESET), and no ready line names the
 * new port. Provoked by one SIGHUP with `address = "127.0.0.1:0"`.
 */
test('a reload keeps a port-0 listener on the port its ready line announced', async () => {
  await using served = await serveProject(await project(5000, '127.0.0.1:0'), 1)
  const [port = 0] = served.ports
  assert.deepEqual(await oneShot(port), { reply: 'v1\n', error: undefined })
  const from = await reloadToV2(served)
  await served.waitForLog((e) => e.msg === 'reloaded', { from, timeoutMs: 15_000 })
  assert.deepEqual(await oneShot(port), { reply: 'v2\n', error: undefined })
})

/** Whether a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
