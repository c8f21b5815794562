/**
 * A newcomer's project: `npm init -y` writes `"type": "commonjs"` (npm 11),
 * and the worker is ESM `.js`, as every Workers example is. Before the fix,
 * `sockworker dev worker.js` failed with "Cannot use import statement
 * outside a module". The worker's own files load as modules under `dev` and
 * `serve`; a `.cjs` file and a package in `node_modules` keep Node's rules.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { promisify } from 'node:util'
import { type Cli, exchange, readyPorts, startCli, tempProject } from './cli.ts'

const run = promisify(execFile)

const WORKER = `import { greeting } from './lib/greeting.js'
import { suffix } from './lib/suffix.ts'
import legacy from './lib/legacy.cjs'
import shout from 'shout'

export default {
  async connect(socket) {
    const writer = socket.writable.getWriter()
    await writer.write(new TextEncoder().encode(shout(greeting + legacy.word + suffix) + '\\n'))
    await writer.close()
  },
}
`

const FILES: Record<string, string> = {
  'worker.js': WORKER,
  'lib/greeting.js': "export const greeting = 'hello '\n",
  'lib/suffix.ts': "export const suffix: string = '!'\n",
  // A CommonJS file of the user's: .cjs keeps Node's rules.
  'lib/legacy.cjs': "module.exports = { word: 'world' }\n",
  // A CommonJS package, as many on npm still are: node_modules keeps Node's rules.
  'node_modules/shout/package.json': JSON.stringify({ name: 'shout', main: 'index.js' }),
  'node_modules/shout/index.js': 'module.exports = (text) => text.toUpperCase()\n',
}

async function commonjsProject() {
  const project = await tempProject({})
  await run('npm', ['init', '-y'], { cwd: project.dir })
  const manifest = JSON.parse(await readFile(project.path('package.json'), 'utf8'))
  assert.equal(manifest.type, 'commonjs', 'npm init -y should write "type": "commonjs" (npm 11)')
  for (const [name, text] of Object.entries(FILES)) {
    await mkdir(join(project.dir, name, '..'), { recursive: true })
    await writeFile(project.path(name), text)
  }
  return project
}

async function greets(cli: Cli): Promise<void> {
  const { tcp } = await readyPorts(cli, ['tcp'])
  const reply = await exchange(tcp as number, '', { until: (got) => got.endsWith('\n') })
  assert.equal(reply, 'HELLO WORLD!\n', cli.output)
}

describe('an ESM worker in a "type": "commonjs" project (npm init -y)', () => {
  test('runs under sockworker dev', async () => {
    await using project = await commonjsProject()
    await using cli = startCli(['dev', project.path('worker.js'), '--tcp', '0'], {
      cwd: project.dir,
    })
    await greets(cli)
  })

  test('runs under sockworker serve', async () => {
    await using project = await commonjsProject()
    await project.write(
      'sockworker.toml',
      [
        '[[workers]]',
        'name = "greeter"',
        'script = "worker.js"',
        '[[workers.listeners]]',
        'type = "tcp"',
        'address = "127.0.0.1:0"',
        '',
      ].join('\n'),
    )
    await using cli = startCli(['serve', '--config', project.path('sockworker.toml')], {
      cwd: project.dir,
    })
    await greets(cli)
  })

  test('a syntax error in such a worker is reported as a module error, with its line', async () => {
    await using project = await commonjsProject()
    await project.write('worker.js', "import { x } from './lib/greeting.js'\nconst a = ;\n")
    await using cli = startCli(['dev', project.path('worker.js'), '--tcp', '0'], {
      cwd: project.dir,
    })
    const [report] = await cli.waitFor(/Cannot load [^\n]*worker\.js:[\s\S]*?SyntaxError[^\n]*/)
    assert.match(report, /worker\.js:2/)
    assert.doesNotMatch(report, /Cannot use import statement outside a module/)
  })
})
