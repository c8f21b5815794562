import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { parseJsonc } from './jsonc.ts'
import { UsageError } from './usage.ts'
import { findWranglerConfig, readWranglerConfig } from './wrangler.ts'

describe('wrangler config', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sockworker-wrangler-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  const write = async (name: string, text: string) => {
    const file = join(dir, name)
    await writeFile(file, text)
    return file
  }

  test('wrangler.toml: name, main, vars and compatibility_date are read; the rest is named as ignored', async () => {
    const file = await write(
      'wrangler.toml',
      `name = "edge"
main = "src/index.ts"
compatibility_date = "2025-09-01"
compatibility_flags = ["nodejs_compat"]
routes = ["example.com/*"]

[vars]
GREETING = "hi"
LIMIT = 3
FEATURES = { fast = true }

[[kv_namespaces]]
binding = "KV"
id = "abc"
`,
    )
    assert.deepEqual(readWranglerConfig(file), {
      file,
      name: 'edge',
      script: join(dir, 'src/index.ts'),
      vars: { GREETING: 'hi', LIMIT: '3', FEATURES: '{"fast":true}' },
      compatibilityDate: '2025-09-01',
      ignored: ['compatibility_flags', 'routes', 'kv_namespaces'],
    })
  })

  test('wrangler.jsonc: comments and trailing commas are allowed', async () => {
    const file = await write(
      'wrangler.jsonc',
      `{
  // the entry
  "main": "worker.js", /* block */
  "vars": { "URL": "http://x//y", "Q": "a\\"/*b*/" },
}`,
    )
    const worker = readWranglerConfig(file)
    assert.equal(worker.script, join(dir, 'worker.js'))
    assert.deepEqual(worker.vars, { URL: 'http://x//y', Q: 'a"/*b*/' })
  })

  test('wrangler.toml is found before wrangler.jsonc', () => {
    assert.equal(findWranglerConfig(dir), join(dir, 'wrangler.toml'))
    assert.equal(findWranglerConfig(join(dir, 'nowhere')), undefined)
  })

  test('mistakes name the file and the field', async () => {
    const cases: Array<[string, RegExp]> = [
      ['name = "x"\n', /"main" is missing/],
      ['main = "w.js"\ncompatibility_date = "today"\n', /"compatibility_date" must be a date/],
      ['main = "w.js"\nvars = [1]\n', /"vars" must be a table/],
      ['main = \n', /Cannot parse/],
    ]
    for (const [text, message] of cases) {
      const file = await write('bad.toml', text)
      assert.throws(
        () => readWranglerConfig(file),
        (error: Error) => {
          assert.ok(error instanceof UsageError)
          assert.match(error.message, message)
          assert.ok(error.message.includes(file), error.message)
          return true
        },
      )
    }
  })

  test('parseJsonc reports bad JSON', () => {
    assert.throws(() => parseJsonc('{ "a": }'), SyntaxError)
  })
})
