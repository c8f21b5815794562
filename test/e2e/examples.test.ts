/**
 * `npm start` serves examples/sockworker.toml. This test runs that same
 * config (its ports moved to free ones, its scripts made absolute) and
 * talks to every example with a real client, so the README's commands stay
 * true.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { exchange, readyListeners, startCli, tempProject } from './cli.ts'

const examples = join(import.meta.dirname, '..', '..', 'examples')
const run = promisify(execFile)

test('the examples npm start serves answer real clients', { timeout: 60_000 }, async () => {
  const original = await readFile(join(examples, 'sockworker.toml'), 'utf8')
  const config = original
    .replace(/(address|listen) = "([\d.]+):\d+"/g, '$1 = "$2:0"')
    .replace(
      /^(script|cert|key) = "([^"]+)"/gm,
      (_, key: string, file: string) => `${key} = ${JSON.stringify(join(examples, file))}`,
    )
  assert.notEqual(config, original, 'the config should have fixed ports to move')
  await using project = await tempProject({ 'sockworker.toml': config })
  await using cli = startCli(['serve', '--config', project.path('sockworker.toml')])
  const [tcp, udp] = await readyListeners(cli, 2, { worker: 'echo' })
  const [http] = await readyListeners(cli, 1, { worker: 'hello-http' })
  assert.deepEqual([tcp?.type, udp?.type, http?.type], ['tcp', 'udp', 'http'])

  // echo over TCP (a line client) and over UDP (socat, as the README shows)
  const line = 'hello over tcp\n'
  assert.equal(await exchange(tcp!.port, line, { until: (got) => got === line }), line)
  const udpReply = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      'socat',
      ['-t2', '-', `UDP:127.0.0.1:${udp!.port}`],
      { timeout: 10_000 },
      (error, out) => (error ? reject(error) : resolve(out)),
    )
    child.stdin?.end('hello over udp\n')
  })
  assert.equal(udpReply, 'hello over udp\n')

  // hello-http, with the greeting from the config's vars
  const response = await fetch(`http://127.0.0.1:${http!.port}/some/path`)
  assert.equal(response.status, 200)
  assert.deepEqual(await response.json(), { hello: 'hello from sockworker', path: '/some/path' })

  // metrics: the echo worker's connections are counted
  const [, metricsUrl] = await cli.waitFor(/ready[^\n]*metrics (http:\/\/[^\s"]+)/)
  let metrics = ''
  for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
    metrics = await (await fetch(metricsUrl!)).text()
    if (/sockworker_connections_total\{worker="echo"\} [2-9]/.test(metrics)) break
    await new Promise((resolve) => setTimeout(resolve, 100)) // replicas report once a second
  }
  assert.match(metrics, /sockworker_connections_total\{worker="echo"\} [2-9]/)

  // smtp: the README's own swaks command, STARTTLS verified against the
  // certificate npm run setup made.
  const [, smtpPort] = await cli.waitFor(/smtp ready listener=tcp 127\.0\.0\.1:(\d+)/)
  const { stdout: swaks } = await run(
    'swaks',
    [
      ...['--server', `127.0.0.1:${smtpPort}`, '--to', 'you@example.test', '--tls'],
      ...['--tls-ca-path', join(examples, '.certs', 'smtp.crt')],
    ],
    { timeout: 15_000 },
  ).catch((error: unknown) => {
    throw new Error(`The README's swaks --tls command failed: ${String(error)}`)
  })
  assert.match(swaks, /TLS started/)
  assert.match(swaks, /<~ {2}250 2\.0\.0 Ok: queued as/)
})
