/**
 * End to end: the CLI's mistakes and refusals, as a user meets them. Each
 * case runs the real command to its exit and checks the exit code and the
 * message: 1 for a bad config or a worker that does not load, 2 for usage.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { runCli, tempProject } from './cli.ts'

/** `text` as a regular expression that matches it literally. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

const ECHO = 'export default { connect: (socket) => socket.readable.pipeTo(socket.writable) }\n'

/** Line 4 is the first that cannot parse: the call on line 3 is never closed. */
const SYNTAX_ERROR = `export default {
  connect(socket) {
    return socket.readable.pipeTo(
  },
}
`

const BAD_CONFIG = `[[workers]]
name = "echo"
script = "worker.ts"
replicas = 0

[[workers.listeners]]
type = "tcpp"
address = "127.0.0.1:0"
`

describe('sockworker: errors and exit codes', { concurrency: 3 }, () => {
  test('serve with a bad config exits 1, naming the file and each bad key', async () => {
    await using project = await tempProject({ 'sockworker.toml': BAD_CONFIG, 'worker.ts': ECHO })
    const file = project.path('sockworker.toml')
    const { code, stdout, stderr } = await runCli(['serve', '--config', file])
    assert.equal(code, 1, stderr)
    assert.match(stderr, new RegExp(`${literal(file)}: workers\\[0\\]\\.replicas: .*1 to 256`))
    assert.match(
      stderr,
      new RegExp(`${literal(file)}: workers\\[0\\]\\.listeners\\[0\\]\\.type: .*"tcpp"`),
    )
    assert.match(stderr, /did you mean "tcp"/)
    assert.doesNotMatch(stdout, /ready/)
  })

  test('serve with a config that does not exist exits 1 and names it', async () => {
    await using project = await tempProject({})
    const file = project.path('missing.toml')
    const { code, stderr } = await runCli(['serve', '--config', file])
    assert.equal(code, 1, stderr)
    assert.match(stderr, new RegExp(literal(file)))
  })

  test('dev with a worker that has a syntax error exits 1 with the file and line', async () => {
    await using project = await tempProject({ 'broken.ts': SYNTAX_ERROR })
    const file = project.path('broken.ts')
    const { code, stdout, stderr } = await runCli(['dev', file, '--tcp', '0'])
    assert.equal(code, 1, stdout + stderr)
    assert.match(stderr, new RegExp(`${literal(file)}:4`))
    assert.match(stderr, /SyntaxError/)
    assert.doesNotMatch(stdout, /^ready/m)
  })

  test('dev with a worker that exports no handler exits 1 and says what to write', async () => {
    await using project = await tempProject({ 'empty.ts': 'export const answer = 42\n' })
    const file = project.path('empty.ts')
    const { code, stdout, stderr } = await runCli(['dev', file, '--tcp', '0'])
    assert.equal(code, 1, stdout + stderr)
    assert.match(stderr, new RegExp(`${literal(file)} has no handler`))
    assert.match(stderr, /export default \{ async connect/)
    assert.match(stderr, /addEventListener\('connect'/)
  })

  test('--help exits 0 and shows both commands', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const { code, stdout } = await runCli(args)
      assert.equal(code, 0, args.join(' '))
      assert.match(stdout, /sockworker dev <worker/)
      assert.match(stdout, /sockworker serve/)
    }
    const dev = await runCli(['dev', '--help'])
    assert.equal(dev.code, 0)
    assert.match(dev.stdout, /--tcp \[host:\]port/)
    const serve = await runCli(['serve', '--help'])
    assert.equal(serve.code, 0)
    assert.match(serve.stdout, /SIGHUP/)
  })

  test('an unknown command exits 2 and points to --help', async () => {
    const { code, stderr } = await runCli(['deploy'])
    assert.equal(code, 2)
    assert.match(stderr, /Unknown command "deploy"/)
    assert.match(stderr, /sockworker --help/)
  })

  test('no command at all exits 2 with the usage', async () => {
    const { code, stdout } = await runCli([])
    assert.equal(code, 2)
    assert.match(stdout, /Usage:/)
  })

  test('dev without a listener exits 2 and names the flags', async () => {
    await using project = await tempProject({ 'worker.ts': ECHO })
    const { code, stderr } = await runCli(['dev', project.path('worker.ts')])
    assert.equal(code, 2)
    assert.match(stderr, /--tcp, --tls, --udp, --quic or --http/)
  })

  test('dev usage mistakes exit 2: a missing file, a bad address, --tls without a certificate', async () => {
    await using project = await tempProject({ 'worker.ts': ECHO })
    const worker = project.path('worker.ts')
    const cases: [string[], RegExp][] = [
      [['dev', project.path('nope.ts'), '--tcp', '0'], /nope\.ts" does not exist/],
      [
        ['dev', worker, '--tcp', 'localhost'],
        /--tcp "localhost": port is missing; write "host:port" or "port"/,
      ],
      [['dev', worker, '--tls', '0'], /--tls needs --cert FILE and --key FILE/],
      [['dev', worker, '--tcp', '0', '--var', 'NOEQUALS'], /--var "NOEQUALS": expected KEY=VALUE/],
      [['dev', worker, '--bogus'], /bogus/],
    ]
    const results = await Promise.all(cases.map(([args]) => runCli(args)))
    results.forEach(({ code, stderr }, i) => {
      const [args, message] = cases[i] ?? [[], /./]
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`)
      assert.match(stderr, message)
    })
  })
})
