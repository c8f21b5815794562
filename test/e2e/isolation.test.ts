/**
 * End to end: `sockworker serve` keeps workers apart. A replica killed
 * under load, a handler stuck in a loop and a handler that throws each hurt
 * only their own connections, the runtime brings the worker back quickly,
 * and `limits.max_connections` turns away the connection over the limit.
 * Clients are `node:net`; pids come from the "replica started" log lines
 * and from the worker's greeting, which names the replica's pid.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { within } from '../helpers/timers.ts'
import { oneShot, openClient, Progress, runLoad } from './support/clients.ts'
import { fixture, jsonLog, serveProject, workerToml } from './support/harness.ts'

const script = fixture('commands.js')
const greeting = (name: string) => new RegExp(`^hello ${name} (\\d+)\\n`)

/** Load on worker `name` until `signal` aborts; `progress` ticks per connection. */
function greetingLoad(
  name: string,
  port: number,
  signal: AbortSignal,
  onReply = (_: string) => {},
) {
  const progress = new Progress()
  const result = runLoad({
    port,
    concurrency: 10,
    accept: (reply) => greeting(name).test(reply),
    signal,
    onResult: ({ reply }) => {
      progress.tick()
      onReply(reply)
    },
  })
  return { progress, result }
}

test('SIGKILL of a replica under load: B has no failure, A is back within 1 s', async (t) => {
  const toml =
    jsonLog +
    workerToml({ name: 'A', script, replicas: 2, vars: { NAME: 'A' } }) +
    workerToml({ name: 'B', script, replicas: 2, vars: { NAME: 'B' } })
  await using served = await serveProject({ 'sockworker.toml': toml }, 2)
  const [portA = 0, portB = 0] = served.ports
  const before = new Set(served.started('A').map((entry) => entry.pid))
  const victim = served.started('A').find((entry) => entry.replica === 0)?.pid
  assert.ok(victim !== undefined, 'a "replica started" line with the pid of A#0')

  // A is back once a connection is answered by a pid that A did not have before.
  const back = Promise.withResolvers<number>()
  const sawReply = (reply: string) => {
    const pid = Number(greeting('A').exec(reply)?.[1])
    if (pid > 0 && !before.has(pid)) back.resolve(performance.now())
  }
  const stop = new AbortController()
  const A = greetingLoad('A', portA, stop.signal, sawReply)
  const B = greetingLoad('B', portB, stop.signal)
  const loads = Promise.all([A.result, B.result])
  let probes = Promise.resolve()
  try {
    await Promise.all([A.progress.after(100), B.progress.after(100)])
    const from = served.logs().length
    const killedAt = performance.now()
    process.kill(victim, 'SIGKILL')
    const restarted = await served.waitForLog(
      (e) => e.msg === 'replica started' && e.worker === 'A' && !before.has(e.pid),
      { from, timeoutMs: 5000 },
    )
    const startedAt = performance.now()
    const fresh = await oneShot(portA)
    const freshAt = performance.now()
    assert.equal(fresh.error, undefined)
    assert.match(fresh.reply, greeting('A'))
    // The load keeps asking A; dedicated probes make sure the new replica is asked too.
    probes = (async () => {
      while (!stop.signal.aborted) sawReply((await oneShot(portA)).reply)
    })()
    // A liveness wait, not the figure under test: a replica starts in 1–2 s, more under CI load.
    const backAt = await within(back.promise, 15_000, 'a reply from the new replica of A')
    await Promise.all([A.progress.after(50), B.progress.after(50)])
    stop.abort()
    const [a, b] = await loads
    const exit = served
      .logs()
      .slice(from)
      .find((e) => e.msg?.startsWith('replica exited') && e.pid === victim)
    assert.equal(exit?.reason, 'crash', 'the kill is logged as a crash')
    assert.equal(restarted.replica, 0)
    const ms = (at: number) => `${(at - killedAt).toFixed(0)} ms`
    t.diagnostic(
      `kill → "replica started" ${ms(startedAt)}, → a fresh connection answered ${ms(freshAt)}, ` +
        `→ first reply from the new replica ${ms(backAt)}; ` +
        `A: ${a.ok} ok, ${a.failures.length} failed (${a.failures.join(', ')}); ` +
        `B: ${b.ok} ok, ${b.failures.length} failed`,
    )
    assert.deepEqual(b.failures, [], 'B lost no connection')
    assert.ok(b.ok > 0 && a.ok > 0)
    // "Back" as issue 3 means it: a new replica started and A answers a fresh connection.
    assert.ok(freshAt - killedAt < 1000, `A was back ${ms(freshAt)} after the kill`)
    // The new replica itself needs a process start, which grew with the
    // sandbox, storage backends and QUIC: about 1.5 s idle, 4.6 s seen in CI
    // with another suite beside it (issue 12 tracks start-up). This bounds
    // it; the figure under test is the fresh connection above.
    assert.ok(backAt - killedAt < 8000, `The new replica answered ${ms(backAt)} after the kill`)
  } finally {
    stop.abort()
    await Promise.all([loads, probes])
  }
})

test('a handler stuck in a loop past limits.cpu_ms: the replica is killed, the worker recovers, B is untouched', async (t) => {
  const toml =
    jsonLog +
    workerToml({ name: 'S', script, vars: { NAME: 'S' }, limits: { cpu_ms: 300 } }) +
    workerToml({ name: 'B', script, vars: { NAME: 'B' } })
  await using served = await serveProject({ 'sockworker.toml': toml }, 2)
  const [portS = 0, portB = 0] = served.ports
  await using spinner = await openClient(portS)
  const pid = Number((await spinner.until(greeting('S')))[1])

  const stop = new AbortController()
  let duringBlock = 0
  let blocked = false
  const countBlocked = (reply: string) => {
    if (blocked && greeting('B').test(reply)) duringBlock++
  }
  const loadB = greetingLoad('B', portB, stop.signal, countBlocked).result
  try {
    const from = served.logs().length
    const sentAt = performance.now()
    blocked = true
    spinner.send('spin\n')
    const exit = await served.waitForLog(
      (e) => e.msg?.startsWith('replica exited') === true && e.worker === 'S',
      { from, timeoutMs: 5000 },
    )
    const killedAt = performance.now()
    assert.equal(exit.reason, 'cpu')
    assert.equal(exit.pid, pid)
    await using fresh = await openClient(portS)
    const next = Number((await fresh.until(greeting('S'), 5000))[1])
    const backAt = performance.now()
    blocked = false
    assert.notEqual(next, pid, 'a new replica answers')
    fresh.send('ping\n')
    await fresh.until(/echo ping\n/)
    await within(spinner.closed, 5000, 'the connection of the killed replica to close')
    stop.abort()
    const b = await loadB
    t.diagnostic(
      `spin → killed (reason cpu) ${(killedAt - sentAt).toFixed(0)} ms, ` +
        `→ served again ${(backAt - sentAt).toFixed(0)} ms; B meanwhile: ${duringBlock} ok, ` +
        `${b.failures.length} failed`,
    )
    assert.deepEqual(b.failures, [], 'B lost no connection')
    assert.ok(duringBlock > 0, 'B served while S was blocked')
    // S's only replica is killed, so serving again waits for a process start
    // (2.5 s seen in CI; see the SIGKILL test above).
    assert.ok(backAt - sentAt < 8000, `S served again ${(backAt - sentAt).toFixed(0)} ms after`)
  } finally {
    stop.abort()
    await loadB
  }
})

test('a handler that throws: its connection closes, "handler failed" is logged, the replica stays', async () => {
  const toml = jsonLog + workerToml({ name: 'T', script, vars: { NAME: 'T' } })
  await using served = await serveProject({ 'sockworker.toml': toml }, 1)
  const [port = 0] = served.ports
  const from = served.logs().length
  await using thrower = await openClient(port)
  const pid = Number((await thrower.until(greeting('T')))[1])
  thrower.send('throw\n')
  await within(thrower.closed, 5000, 'the connection of the throwing handler to close')
  assert.match(thrower.text, /^hello T \d+\n$/, 'nothing after the greeting')
  const failed = await served.waitForLog((e) => e.msg === 'handler failed' && e.worker === 'T', {
    from,
  })
  assert.match(String(failed['error']), /T throws on request/)
  assert.equal(typeof failed.conn, 'string', 'the log line names the connection')

  await using next = await openClient(port)
  const same = Number((await next.until(greeting('T')))[1])
  assert.equal(same, pid, 'the same replica answers')
  next.send('ping\n')
  await next.until(/echo ping\n/)
  assert.equal(served.started('T').length, 1, 'no replica was started again')
  assert.ok(!served.logs().some((e) => e.msg?.startsWith('replica exited')))
})

test('limits.max_connections = 2: a third connection is closed at once, the first two keep working', async (t) => {
  const toml =
    jsonLog + workerToml({ name: 'M', script, vars: { NAME: 'M' }, limits: { max_connections: 2 } })
  await using served = await serveProject({ 'sockworker.toml': toml }, 1)
  const [port = 0] = served.ports
  await using first = await openClient(port)
  await using second = await openClient(port)
  await Promise.all([first.until(greeting('M')), second.until(greeting('M'))])

  await using third = await openClient(port)
  const closed = await within(third.closed, 2000, 'the third connection to be closed')
  assert.equal(third.text, '', `the third connection got no greeting (closed with ${closed})`)
  await served.waitForLog((e) => e.msg === 'connection refused: max_connections reached')

  for (const [i, client] of [first, second].entries()) {
    client.send(`ping ${i}\n`)
    await client.until(new RegExp(`echo ping ${i}\\n`))
  }
  // A slot frees when a connection ends. The client may see the close a moment
  // before the replica counts it, so a refusal right then is retried (bounded).
  first.socket.end()
  await first.closed
  const deadline = Date.now() + 2000
  let attempts = 0
  for (;;) {
    attempts++
    const { reply } = await oneShot(port)
    if (greeting('M').test(reply)) break
    assert.ok(Date.now() < deadline, `No slot freed within 2 s (${attempts} attempts)`)
  }
  t.diagnostic(`after closing one of two connections, a new one was served at attempt ${attempts}`)
})
