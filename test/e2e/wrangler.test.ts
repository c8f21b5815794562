/**
 * Cloudflare habits: in a folder with a wrangler config, a bare
 * `sockworker dev` runs the worker named by `main`, with `vars` in env; the
 * CLI flags add the listeners and `--var` overrides a var.
 */
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { exchange, readyPorts, runCli, startCli, tempProject } from './cli.ts'

const ENV_WORKER = `export default {
  async connect(socket, env) {
    const writer = socket.writable.getWriter()
    await writer.write(new TextEncoder().encode(JSON.stringify(env)))
    await writer.close()
  },
}
`

for (const [configName, config] of [
  [
    'wrangler.toml',
    'name = "edge"\nmain = "src/index.js"\ncompatibility_date = "2025-09-01"\nroutes = ["example.com/*"]\n\n[vars]\nGREETING = "hello"\nWHO = "toml"\n',
  ],
  [
    'wrangler.jsonc',
    '{\n  // as wrangler writes it\n  "name": "edge",\n  "main": "src/index.js",\n  "compatibility_date": "2025-09-01",\n  "routes": ["example.com/*"],\n  "vars": { "GREETING": "hello", "WHO": "jsonc" },\n}\n',
  ],
] as const) {
  test(`a bare sockworker dev runs the worker of ${configName}, with its vars`, async () => {
    await using project = await tempProject({ [configName]: config })
    await mkdir(join(project.dir, 'src'))
    await writeFile(join(project.dir, 'src', 'index.js'), ENV_WORKER)
    await using cli = startCli(['dev', '--tcp', '127.0.0.1:0', '--var', 'WHO=flag'], {
      cwd: project.dir,
    })
    const { tcp } = await readyPorts(cli, ['tcp'])
    assert.deepEqual(JSON.parse(await exchange(tcp ?? 0, '')), { GREETING: 'hello', WHO: 'flag' })
    assert.match(
      cli.output,
      new RegExp(
        `${configName}: worker .*src/index\\.js \\(compatibility_date 2025-09-01\\); ignoring routes`,
      ),
    )
  })
}

test('a bare sockworker dev without a wrangler config says what to give', async () => {
  await using project = await tempProject({})
  const result = await runCli(['dev', '--tcp', '0'], { cwd: project.dir })
  assert.equal(result.code, 2)
  assert.match(
    result.stderr,
    /Give exactly one worker file, or run in a folder with wrangler\.toml/,
  )
})

test('a wrangler config whose main is missing is a usage error that names the file', async () => {
  await using project = await tempProject({ 'wrangler.toml': 'main = "src/gone.js"\n' })
  const result = await runCli(['dev', '--tcp', '0'], { cwd: project.dir })
  assert.equal(result.code, 2)
  assert.match(
    result.stderr,
    /Worker file ".*src\/gone\.js" \(main in .*wrangler\.toml\) does not exist/,
  )
})
