/**
 * End to end: the Prometheus endpoint of `sockworker serve`, read with
 * `curl` as a scraper would. Per-worker figures move with what the test
 * does to one worker (connections, bytes, a throwing handler, an egress
 * denial, a killed replica) and stay at zero for a worker left alone.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { within } from '../helpers/timers.ts'
import { openClient } from './support/clients.ts'
import { fixture, jsonLog, serveProject, workerToml } from './support/harness.ts'
import { scrape, scrapeUntil } from './support/metrics.ts'

const script = fixture('commands.js')

test('per-worker figures move: connections, bytes, errors, denials, durations, restarts', async () => {
  const toml =
    jsonLog +
    '[metrics]\nlisten = "127.0.0.1:0"\n' +
    workerToml({ name: 'm', script, vars: { NAME: 'm' } }) +
    workerToml({ name: 'quiet', script, vars: { NAME: 'quiet' } })
  await using served = await serveProject({ 'sockworker.toml': toml }, 2)
  const [port = 0] = served.ports
  const url = served.metricsUrl
  assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
  if (url === undefined) return

  const start = await scrape(url)
  assert.equal(start.get('connections_total m'), 0)
  assert.equal(start.get('replicas m'), 1)

  let sent = 0
  let received = 0
  const converse = async (line: string, reply?: RegExp) => {
    await using client = await openClient(port)
    await client.until(/\n/)
    client.send(`${line}\n`)
    sent += Buffer.byteLength(`${line}\n`)
    if (reply) await client.until(reply, 5000, client.text.indexOf('\n') + 1)
    client.socket.end()
    await within(client.closed, 5000, 'the connection to close')
    received += Buffer.byteLength(client.text)
  }
  for (let i = 0; i < 5; i++) await converse(`ping ${i}`, /echo ping \d\n/)
  await converse('throw')
  await converse('deny', /refused ERR_EGRESS_DENIED\n/)

  const figure = await scrapeUntil(
    url,
    (f) => f('connections_total') === 7 && f('handler_duration_seconds_count') === 7,
    '7 connections, all closed',
  )
  assert.equal(figure('connections_active'), 0)
  assert.equal(figure('handler_errors_total'), 1)
  assert.equal(figure('egress_denials_total'), 1)
  assert.equal(figure('bytes_in_total'), sent)
  assert.equal(figure('bytes_out_total'), received)
  assert.equal(figure('handler_duration_seconds_bucket[+Inf]'), 7)
  assert.ok(figure('handler_duration_seconds_sum') > 0)
  assert.equal(figure('restarts_total'), 0)
  for (const name of ['connections_total', 'bytes_in_total', 'handler_errors_total']) {
    assert.equal(figure(name, 'quiet'), 0, `${name} of the worker left alone`)
  }

  const victim = served.started('m')[0]?.pid
  assert.ok(victim !== undefined)
  process.kill(victim, 'SIGKILL')
  const after = await scrapeUntil(
    url,
    (f) => f('restarts_total') === 1 && f('replicas') === 1,
    'the restart',
  )
  assert.equal(after('connections_total'), 7, 'the killed replica’s figures are kept')
  assert.equal(after('restarts_total', 'quiet'), 0)
})
