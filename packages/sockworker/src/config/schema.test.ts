/**
 * The schema of sockworker.toml: defaults, and one test per kind of
 * message. Each test writes its config as TOML text, as a user would.
 */

import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { useTestProject, worker } from '../../../../test/helpers/config-project.ts'

const project = useTestProject('schema')
const { valid, issues } = project

describe('defaults', () => {
  it('fills in everything left out', async () => {
    const config = await valid(worker('echo', '7000'))
    assert.deepEqual(config.log, { format: 'json', level: 'info' })
    assert.equal(config.metrics, undefined)
    assert.deepEqual(config.drain, { delayMs: 0 })
    const [w] = config.workers
    assert.deepEqual(w, {
      name: 'echo',
      script: join(project.dir, 'echo', 'worker.ts'),
      replicas: 1,
      compatibility: 'workerd',
      storage: {},
      tunnels: [],
      vars: {},
      secrets: {},
      limits: {
        memoryMb: 256,
        cpuMs: 2000,
        maxConnections: 10_000,
        handshakeTimeoutMs: 10_000,
        headerTimeoutMs: 10_000,
        idleTimeoutMs: 300_000,
        drainTimeoutMs: 30_000,
      },
      egress: { allow: ['public'], deny: [] },
      sandbox: { allow: [], user: { name: 'nobody', uid: 65_534, gid: 65_534 }, read: [] },
      listeners: [
        {
          type: 'tcp',
          hostname: '127.0.0.1',
          port: 7000,
          proxyProtocol: 'off',
          allowHalfOpen: false,
          idleTimeoutMs: 300_000,
        },
      ],
    })
  })

  it('gives udp listeners a 30 s flow timeout and takes the egress default from the caller', async () => {
    const toml = `[[workers]]\nname = "dns"\nscript = "echo/worker.ts"\n[[workers.listeners]]\ntype = "udp"\naddress = "0.0.0.0:5353"\n`
    const config = await valid(toml, { egressDefault: { allow: ['any'] } })
    const [w] = config.workers
    assert.deepEqual(w?.egress, { allow: ['any'], deny: [] })
    assert.deepEqual(w?.listeners[0], {
      type: 'udp',
      hostname: '0.0.0.0',
      port: 5353,
      proxyProtocol: 'off',
      allowHalfOpen: false,
      idleTimeoutMs: 30_000,
      maxFlows: 10_000,
      newFlowsPerSecond: 2000,
    })
  })
})

describe('a full config', () => {
  it('resolves every key', async () => {
    const toml = `
[log]
format = "pretty"
level = "debug"
[metrics]
listen = "0.0.0.0:9464"
[drain]
delay_ms = 5000
[[workers]]
name = "echo"
script = "echo/worker.ts"
replicas = 4
vars = { GREETING = "hi", COUNT = 3, RATIO = 1.5, DEBUG = true }
secrets = { DB_PASSWORD = { env = "SW_TEST_PW" }, TOKEN = { file = "token.txt" } }
[workers.limits]
memory_mb = 128
cpu_ms = 500
max_connections = 100
handshake_timeout_ms = 3000
header_timeout_ms = 2000
idle_timeout_ms = 0
drain_timeout_ms = 1000
[workers.egress]
allow = ["public:443", "db.internal:5432"]
deny = ["10.0.0.0/8"]
[[workers.listeners]]
type = "tcp"
address = "[::1]:7000"
proxy_protocol = "v2"
[[workers.listeners]]
type = "udp"
address = 7001
idle_timeout_ms = 5000
max_flows = 500
new_flows_per_second = 3000
[[workers.listeners]]
type = "http"
address = "localhost:8080"
`
    const config = await valid(toml, { env: { SW_TEST_PW: 'pw' } })
    assert.deepEqual(config.log, { format: 'pretty', level: 'debug' })
    assert.deepEqual(config.metrics, { hostname: '0.0.0.0', port: 9464 })
    assert.deepEqual(config.drain, { delayMs: 5000 })
    const w = config.workers[0]!
    assert.equal(w.replicas, 4)
    assert.deepEqual(w.vars, { GREETING: 'hi', COUNT: '3', RATIO: '1.5', DEBUG: 'true' })
    assert.deepEqual(w.secrets, { DB_PASSWORD: 'pw', TOKEN: 's3cret' })
    assert.deepEqual(w.limits, {
      memoryMb: 128,
      cpuMs: 500,
      maxConnections: 100,
      handshakeTimeoutMs: 3000,
      headerTimeoutMs: 2000,
      idleTimeoutMs: 0,
      drainTimeoutMs: 1000,
    })
    assert.deepEqual(w.egress, { allow: ['public:443', 'db.internal:5432'], deny: ['10.0.0.0/8'] })
    assert.equal(w.listeners[1]?.maxFlows, 500)
    assert.equal(w.listeners[1]?.newFlowsPerSecond, 3000)
    assert.deepEqual(
      w.listeners.map((l) => [l.type, l.hostname, l.port, l.proxyProtocol, l.idleTimeoutMs]),
      [
        ['tcp', '::1', 7000, 'v2', 0],
        ['udp', '127.0.0.1', 7001, 'off', 5000],
        ['http', 'localhost', 8080, 'off', 0],
      ],
    )
  })
})

describe('messages', () => {
  it('names the key path and the allowed values', async () => {
    const toml = worker('echo', '7000').replace('type = "tcp"', 'type = "tpc"')
    assert.deepEqual(await issues(toml), [
      'workers[0].listeners[0].type: "tpc" is not one of "tcp", "tls", "udp", "quic", "http"; did you mean "tcp"?',
    ])
  })

  it('suggests the key that was meant, or lists the allowed ones', async () => {
    const toml = `[lgo]\n${worker('echo', '7000', 'replica = 2\nfoo = 1')}`
    assert.deepEqual(await issues(toml), [
      'lgo: unknown key; did you mean "log"?',
      'workers[0].replica: unknown key; did you mean "replicas"?',
      'workers[0].foo: unknown key; allowed keys are "name", "script", "replicas", "compatibility", "vars", "secrets", "limits", "egress", "tunnels", "storage", "sandbox", "listeners"',
    ])
  })

  it('reports numbers out of range, with the range', async () => {
    const toml = worker(
      'echo',
      '7000',
      'replicas = 0\n[workers.limits]\nmemory_mb = 8\ncpu_ms = "2s"',
    )
    assert.deepEqual(await issues(toml), [
      'workers[0].replicas: 0 is not an integer from 1 to 256',
      'workers[0].limits.memory_mb: 8 is not an integer from 16 to 65536',
      'workers[0].limits.cpu_ms: "2s" is not an integer from 10 to 600000',
    ])
  })

  it('bounds the overload limits: timeouts from 1 ms to 10 minutes, UDP flows on udp listeners only', async () => {
    const toml = `${worker(
      'echo',
      '7000',
      '[workers.limits]\nhandshake_timeout_ms = 0\nheader_timeout_ms = 600001\nmax_connections = 0',
    )}[[workers.listeners]]\ntype = "udp"\naddress = "7001"\nmax_flows = 0\nnew_flows_per_second = 0
[[workers.listeners]]\ntype = "tcp"\naddress = "7002"\nmax_flows = 10\nnew_flows_per_second = 10\n`
    assert.deepEqual(await issues(toml), [
      'workers[0].limits.max_connections: 0 is not an integer from 1 to 1000000',
      'workers[0].limits.handshake_timeout_ms: 0 is not an integer from 1 to 600000',
      'workers[0].limits.header_timeout_ms: 600001 is not an integer from 1 to 600000',
      'workers[0].listeners[1].max_flows: 0 is not an integer from 1 to 1000000',
      'workers[0].listeners[1].new_flows_per_second: 0 is not an integer from 1 to 1000000',
      'workers[0].listeners[2].max_flows: not allowed for "tcp" listeners; it caps UDP flows; set [workers.limits] max_connections for connections',
      'workers[0].listeners[2].new_flows_per_second: not allowed for "tcp" listeners; it limits how fast UDP flows open; set [workers.limits] max_connections for connections',
    ])
  })

  it('reports missing keys and a file with no workers', async () => {
    assert.deepEqual(await issues(''), [
      'workers: required key is missing; expected one or more [[workers]] tables',
    ])
    const toml = `[[workers]]\nname = "a"\n[[workers.listeners]]\ntype = "tcp"\n`
    assert.deepEqual(await issues(toml), [
      'workers[0].script: required key is missing; expected a path to a .ts, .mts, .js or .mjs file',
      'workers[0].listeners[0].address: required key is missing; expected an address "[host:]port", such as "7000", "127.0.0.1:7000", "0.0.0.0:7000" or "[::1]:7000"',
    ])
    const noListeners = `[[workers]]\nname = "a"\nscript = "echo/worker.ts"\n`
    assert.deepEqual(await issues(noListeners), [
      'workers[0].listeners: required key is missing; expected one or more [[workers.listeners]] tables',
    ])
  })

  it('checks worker names: pattern and uniqueness', async () => {
    const toml = worker('my worker', '7000') + worker('echo', '7001') + worker('echo', '7002')
    assert.deepEqual(await issues(toml), [
      'workers[0].name: "my worker" is not a name of letters, digits, "_" and "-" that starts with a letter or digit',
      'workers[2].name: "echo" is already the name of workers[1]',
    ])
  })

  it('checks scripts: extension, existence, kind', async () => {
    const toml =
      worker('a', '7000').replace('echo/worker.ts', 'worker.py') +
      worker('b', '7001').replace('echo/worker.ts', 'missing.ts') +
      worker('c', '7002').replace('echo/worker.ts', 'echo.mjs')
    await mkdir(join(project.dir, 'echo.mjs'), { recursive: true })
    assert.deepEqual(await issues(toml), [
      'workers[0].script: "worker.py" is not a path to a .ts, .mts, .js or .mjs file',
      `workers[1].script: cannot find "missing.ts" (${join(project.dir, 'missing.ts')}): no such file (ENOENT)`,
      `workers[2].script: "echo.mjs" (${join(project.dir, 'echo.mjs')}) is not a file`,
    ])
  })

  it('checks addresses', async () => {
    const toml =
      worker('a', 'localhost') + worker('b', '::1:80') + worker('c', '70000') + worker('d', '[::1')
    assert.deepEqual(await issues(toml), [
      'workers[0].listeners[0].address: "localhost": port is missing; write "host:port" or "port"',
      'workers[1].listeners[0].address: "::1:80": an IPv6 address needs brackets, as in "[::1]:80"',
      'workers[2].listeners[0].address: "70000": port 70000 is not from 0 to 65535',
      'workers[3].listeners[0].address: "[::1": the IPv6 address has no closing "]"',
    ])
  })

  it('reports every error in the file together, in file order', async () => {
    const toml = `[log]\nlevel = "verbose"\n${worker('echo', '7000', 'replicas = 1000\nvars = { A = [1] }')}${worker('echo', 'x')}`
    assert.deepEqual(await issues(toml), [
      'log.level: "verbose" is not one of "debug", "info", "warn", "error"',
      'workers[0].replicas: 1000 is not an integer from 1 to 256',
      'workers[0].vars.A: expected a string, number or boolean, got an array',
      'workers[1].name: "echo" is already the name of workers[0]',
      'workers[1].listeners[0].address: "x": port is missing; write "host:port" or "port"',
    ])
  })
})

describe('vars, secrets and egress', () => {
  it('reports a missing env secret, a plain-string secret, bad names and a clash with vars', async () => {
    const extra = `vars = { TOKEN = "x", "1BAD" = "y" }\nsecrets = { TOKEN = { file = "token.txt" }, PW = { env = "SW_UNSET" }, RAW = "hunter2", BOTH = { env = "A", file = "b" }, NONE = {}, ODD = { evn = "A" } }`
    assert.deepEqual(await issues(worker('a', '7000', extra), { env: {} }), [
      'workers[0].vars.1BAD: key is not a name of letters, digits and "_", not starting with a digit',
      'workers[0].secrets.PW.env: environment variable "SW_UNSET" is not set; set it, or use { file = "path" }',
      'workers[0].secrets.RAW: "hunter2" is not a table { env = "NAME" } or { file = "path" }',
      'workers[0].secrets.BOTH: give env or file, not both',
      'workers[0].secrets.NONE: is empty; expected a table { env = "NAME" } or { file = "path" }',
      'workers[0].secrets.ODD.evn: unknown key; did you mean "env"?',
    ])
    const clash = worker(
      'a',
      '7000',
      'vars = { TOKEN = "x" }\nsecrets = { TOKEN = { file = "token.txt" } }',
    )
    assert.deepEqual(await issues(clash), [
      'workers[0].secrets.TOKEN: "TOKEN" is also in vars; use one or the other',
    ])
  })

  it("checks egress rules: non-empty strings, then the caller's parser", async () => {
    const toml = worker('a', '7000', '[workers.egress]\nallow = ["", "nope"]\ndeny = 3')
    const checkEgressRule = (rule: string) =>
      rule === 'nope' ? `"${rule}" is not a rule` : undefined
    assert.deepEqual(await issues(toml, { checkEgressRule }), [
      'workers[0].egress.allow[0]: "" is not an egress rule (a non-empty string)',
      'workers[0].egress.allow[1]: "nope" is not a rule',
      'workers[0].egress.deny: 3 is not an array of an egress rule (a non-empty string)',
    ])
  })
})

describe('tunnels', () => {
  it('resolves each tunnel, with its token read from a file', async () => {
    const toml = worker(
      'echo',
      '7000',
      '[[workers.tunnels]]\ntarget = "db.internal:5432"\nurl = "wss://tunnel.example:8443"\ntoken_file = "token.txt"\n' +
        '[[workers.tunnels]]\ntarget = "cache:6379"\nurl = "ws://127.0.0.1:9000"',
    )
    const config = await valid(toml)
    assert.deepEqual(config.workers[0]?.tunnels, [
      { target: 'db.internal:5432', url: 'wss://tunnel.example:8443', token: 's3cret' },
      { target: 'cache:6379', url: 'ws://127.0.0.1:9000' },
    ])
  })

  it('refuses a token that cannot travel in a WebSocket subprotocol', async () => {
    await writeFile(join(project.dir, 'bad-token.txt'), 'two words\n')
    const toml = worker(
      'echo',
      '7000',
      '[[workers.tunnels]]\ntarget = "db:5432"\nurl = "ws://127.0.0.1:9000"\ntoken_file = "bad-token.txt"',
    )
    const [found] = await issues(toml)
    assert.match(
      found ?? '',
      /^workers\[0\]\.tunnels\[0\]\.token_file: .*characters a tunnel token cannot have/,
    )
  })

  it('says what a target, a URL and a token file must be', async () => {
    const toml = worker(
      'echo',
      '7000',
      '[[workers.tunnels]]\ntarget = "db.internal"\nurl = "https://tunnel.example"\ntoken_file = "missing.txt"',
    )
    const found = await issues(toml)
    assert.equal(found.length, 3)
    assert.match(found[0] ?? '', /^workers\[0\]\.tunnels\[0\]\.target: .*"host:port"/)
    assert.match(found[1] ?? '', /^workers\[0\]\.tunnels\[0\]\.url: .*ws:\/\/ or wss:\/\//)
    assert.match(
      found[2] ?? '',
      /^workers\[0\]\.tunnels\[0\]\.token_file: cannot read "missing.txt"/,
    )
  })
})

describe('storage', () => {
  it('makes each binding path absolute, relative to the config file', async () => {
    const config = await valid(
      worker('echo', '7000', '[workers.storage]\nSTORE = { path = "data/kv.sqlite" }'),
    )
    assert.deepEqual(config.workers[0]?.storage, {
      STORE: { path: join(project.dir, 'data', 'kv.sqlite') },
    })
  })

  it('says what a binding needs', async () => {
    const found = await issues(
      worker('echo', '7000', '[workers.storage]\n"1BAD" = { path = "x" }\nOK = { file = "x" }'),
    )
    assert.equal(found.length, 2, found.join('\n'))
    assert.match(found[1] ?? '', /OK\.file: unknown key; allowed keys are "path", "url"/)
  })
})

describe('sandbox', () => {
  it('takes capabilities by name and a user by name, "uid" or "uid:gid"', async () => {
    const config = await valid(
      worker(
        'echo',
        '7000',
        '[workers.sandbox]\nallow = ["child_process", "wasi", "child_process"]\nuser = "root"\nread = ["../shared", "/opt/lib", "../shared"]',
      ),
    )
    assert.deepEqual(config.workers[0]?.sandbox, {
      allow: ['child_process', 'wasi'],
      user: { name: 'root', uid: 0, gid: 0 },
      read: [join(project.dir, '..', 'shared'), '/opt/lib'],
    })
    const numeric = await valid(worker('echo', '7000', '[workers.sandbox]\nuser = "1001:1002"'))
    assert.deepEqual(numeric.workers[0]?.sandbox?.user, { name: '1001:1002', uid: 1001, gid: 1002 })
  })

  it('says which capabilities exist and how to name a user that is not in /etc/passwd', async () => {
    const toml = worker(
      'echo',
      '7000',
      '[workers.sandbox]\nallow = ["child_processes", "net"]\nuser = "no-such-user"\ngroup = "x"',
    )
    assert.deepEqual(await issues(toml), [
      'workers[0].sandbox.group: unknown key; allowed keys are "allow", "user", "read"',
      'workers[0].sandbox.allow[0]: "child_processes" is not one of "child_process", "worker_threads", "addons", "wasi", "quic"; did you mean "child_process"?',
      'workers[0].sandbox.allow[1]: "net" is not one of "child_process", "worker_threads", "addons", "wasi", "quic"',
      'workers[0].sandbox.user: user "no-such-user" is not in /etc/passwd; create it, or give a numeric "uid:gid" such as "65534:65534"',
    ])
  })
})
