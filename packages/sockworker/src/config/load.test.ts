/**
 * loadConfig against real files: the config file itself, scripts,
 * certificates and secrets, each relative to the config file's directory.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { makeCerts } from '../../../../test/helpers/certs.ts'
import { formatIssues, loadConfig } from './load.ts'
import type { LoadResult, ResolvedConfig } from './types.ts'

let dir: string
let certs: Awaited<ReturnType<typeof makeCerts>>

before(async () => {
  certs = await makeCerts()
  dir = await mkdtemp(join(tmpdir(), 'sockworker-load-'))
  await mkdir(join(dir, 'echo'))
  await writeFile(join(dir, 'echo', 'worker.ts'), 'export default {}\n')
  await writeFile(join(dir, 'cert.pem'), certs.server.cert)
  await writeFile(join(dir, 'key.pem'), certs.server.key)
  await writeFile(join(dir, 'other-key.pem'), certs.wrongHost.key)
  await writeFile(join(dir, 'other.pem'), certs.wrongHost.cert)
  await writeFile(join(dir, 'token.txt'), 'tok-123\n')
})
after(() => rm(dir, { recursive: true, force: true }))

/** Writes `toml` as a config file in the fixture directory and loads it. */
async function load(toml: string, env: Record<string, string> = {}): Promise<LoadResult> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.toml`)
  await writeFile(file, toml)
  try {
    return await loadConfig(file, { env })
  } finally {
    await rm(file)
  }
}

function ok(result: LoadResult): ResolvedConfig {
  if (!result.ok) assert.fail(formatIssues(result.errors))
  return result.config
}

function messages(result: LoadResult): string[] {
  assert.equal(result.ok, false, 'expected the config to be rejected')
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`)
}

const HEAD = '[[workers]]\nname = "echo"\nscript = "echo/worker.ts"\n'

describe('loadConfig', () => {
  it('reads certificates and secrets relative to the config file, not the working directory', async () => {
    const toml = `${HEAD}secrets = { DB_PASSWORD = { env = "DB_PASSWORD" }, TOKEN = { file = "token.txt" } }
[[workers.listeners]]
type = "tls"
address = "7443"
cert = "cert.pem"
key = "key.pem"
alpn = ["smtp", "h2"]
sni = { "wrong.example" = { cert = "other.pem", key = "other-key.pem" } }
[[workers.listeners]]
type = "tcp"
address = "7025"
cert = "cert.pem"
key = "key.pem"
`
    assert.notEqual(process.cwd(), dir)
    const config = ok(await load(toml, { DB_PASSWORD: 'pw from env' }))
    const w = config.workers[0]!
    // A secret file's final newline is not part of the secret.
    assert.deepEqual(w.secrets, { DB_PASSWORD: 'pw from env', TOKEN: 'tok-123' })
    assert.deepEqual(w.listeners[0]?.tls, {
      cert: certs.server.cert,
      key: certs.server.key,
      sni: { 'wrong.example': { cert: certs.wrongHost.cert, key: certs.wrongHost.key } },
      alpn: ['smtp', 'h2'],
    })
    assert.deepEqual(w.listeners[1]?.tls, { cert: certs.server.cert, key: certs.server.key })
  })

  it('uses the first SNI certificate as the default when there is no cert', async () => {
    const toml = `${HEAD}[[workers.listeners]]\ntype = "tls"\naddress = "7443"
sni = { "wrong.example" = { cert = "other.pem", key = "other-key.pem" }, "localhost" = { cert = "cert.pem", key = "key.pem" } }\n`
    const tls = ok(await load(toml)).workers[0]?.listeners[0]?.tls
    assert.equal(tls?.cert, certs.wrongHost.cert)
    assert.deepEqual(Object.keys(tls?.sni ?? {}), ['wrong.example', 'localhost'])
  })

  it('reports a missing config file clearly', async () => {
    const file = join(dir, 'nope.toml')
    const result = await loadConfig(file)
    assert.deepEqual(result, {
      ok: false,
      errors: [
        {
          file,
          path: '',
          message:
            'cannot read the config file: no such file (ENOENT); pass --config FILE to use another',
        },
      ],
    })
    assert.equal(
      formatIssues(result.ok ? [] : result.errors),
      `${file}: cannot read the config file: no such file (ENOENT); pass --config FILE to use another`,
    )
  })

  it('reports a TOML syntax error with its line and column', async () => {
    const result = await load('[log]\nformat = "json"\nlevel = = "info"\n')
    assert.equal(result.ok, false)
    if (result.ok) return
    const [error] = result.errors
    assert.equal(result.errors.length, 1)
    assert.equal(error?.line, 3)
    assert.equal(error?.column, 9)
    assert.equal(error?.message, 'invalid TOML: invalid value')
    const text = formatIssues(result.errors)
    assert.match(text, /^\/.*\.toml:3:9: invalid TOML: invalid value\n {4}2: {2}format = "json"\n/)
    assert.match(text, /\n {4}3: {2}level = = "info"\n {4} +\^$/)
  })

  it('reports unreadable and unsuitable certificate files', async () => {
    const toml = `${HEAD}[[workers.listeners]]\ntype = "tls"\naddress = "7443"\ncert = "missing.pem"\nkey = "key.pem"
[[workers.listeners]]\ntype = "tls"\naddress = "7444"\ncert = "token.txt"\nkey = "cert.pem"
[[workers.listeners]]\ntype = "tls"\naddress = "7445"\ncert = "cert.pem"\nkey = "other-key.pem"
[[workers.listeners]]\ntype = "tls"\naddress = "7446"\ncert = "echo"\nkey = "key.pem"\n`
    const found = messages(await load(toml))
    assert.equal(found.length, 5)
    assert.equal(
      found[0],
      `workers[0].listeners[0].cert: cannot read "missing.pem" (${join(dir, 'missing.pem')}): no such file (ENOENT)`,
    )
    assert.equal(
      found[1],
      'workers[0].listeners[1].cert: "token.txt" has no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)',
    )
    assert.equal(
      found[2],
      'workers[0].listeners[1].key: "cert.pem" has no PEM private key (no "-----BEGIN … PRIVATE KEY-----" line)',
    )
    assert.match(
      found[3] ?? '',
      /^workers\[0\]\.listeners\[2\]\.key: "other-key\.pem" does not go with the certificate "cert\.pem": .*key values mismatch/,
    )
    assert.equal(
      found[4],
      `workers[0].listeners[3].cert: cannot read "echo" (${join(dir, 'echo')}): it is a directory (EISDIR)`,
    )
  })

  it('names the secret that cannot be resolved', async () => {
    const toml = `${HEAD}secrets = { DB_PASSWORD = { env = "SW_TEST_UNSET" }, TOKEN = { file = "../nope/token.txt" } }
[[workers.listeners]]\ntype = "tcp"\naddress = "7000"\n`
    const missing = join(dir, '..', 'nope', 'token.txt')
    assert.deepEqual(messages(await load(toml)), [
      'workers[0].secrets.DB_PASSWORD.env: environment variable "SW_TEST_UNSET" is not set; set it, or use { file = "path" }',
      `workers[0].secrets.TOKEN.file: cannot read "../nope/token.txt" (${missing}): no such file (ENOENT)`,
    ])
  })

  it('reports file problems and schema problems together, in file order', async () => {
    const toml = `${HEAD.replace('echo/worker.ts', 'gone.ts')}replica = 3
[[workers.listeners]]\ntype = "tls"\naddress = "7443"\ncert = "gone.pem"\nkey = "key.pem"\nproxy_protocol = "V2"\n`
    assert.deepEqual(messages(await load(toml)), [
      'workers[0].replica: unknown key; did you mean "replicas"?',
      `workers[0].script: cannot find "gone.ts" (${join(dir, 'gone.ts')}): no such file (ENOENT)`,
      `workers[0].listeners[0].cert: cannot read "gone.pem" (${join(dir, 'gone.pem')}): no such file (ENOENT)`,
      'workers[0].listeners[0].proxy_protocol: "V2" is not one of "off", "v1", "v2", "any"; did you mean "v2"?',
    ])
  })

  it('names the file as the caller gave it', async () => {
    const file = join(dir, 'named.toml')
    await writeFile(file, 'workers = 3\n')
    const given = relative(process.cwd(), file)
    const result = await loadConfig(given)
    assert.equal(
      formatIssues(result.ok ? [] : result.errors),
      `${given}: workers: 3 is not one or more [[workers]] tables`,
    )
  })
})
