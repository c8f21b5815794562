/**
 * The README promises that every TypeScript snippet in it runs as it is.
 * This test holds it to that: each snippet runs in its own Node process,
 * in a working directory that has cert.pem, key.pem and ca.pem, and must
 * exit cleanly and print what its comments say it prints.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'
import { makeCerts } from '../helpers/certs.ts'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')

/** What each snippet, in README order, must print. */
const expectations: RegExp[][] = [
  [/^ping$/m],
  [/^TLSv1\.3 echo\/1 .*CN=localhost/m],
  [/^upgraded: true TLSv1\.3$/m],
  [/^hello from port \d+$/m],
  [/^over QUIC$/m, /^closed with \{ closeCode: 0, reason: 'done' \}$/m],
  [
    /^TypeError: Cannot parse address "localhost": port is missing/m,
    /^ECONNREFUSED - Cannot connect/m,
  ],
]

const readme = await readFile(join(root, 'README.md'), 'utf8')
const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')

// Inside the repository, so that '@sockworker/sockets' resolves as it does for a user.
await mkdir(join(root, '.tmp'), { recursive: true })
const dir = await mkdtemp(join(root, '.tmp', 'readme-'))
after(() => rm(dir, { recursive: true, force: true }))

test('the README has one expectation per snippet', () => {
  assert.equal(snippets.length, expectations.length)
})

for (const [index, source] of snippets.entries()) {
  const firstLine =
    source.split('\n').find((line) => line.startsWith('//') || line.startsWith('const')) ?? ''
  test(`README snippet ${index + 1} runs: ${firstLine.slice(0, 60)}`, {
    timeout: 20_000,
  }, async () => {
    const certs = await makeCerts()
    await Promise.all([
      writeFile(join(dir, 'cert.pem'), certs.server.cert),
      writeFile(join(dir, 'key.pem'), certs.server.key),
      writeFile(join(dir, 'ca.pem'), certs.ca),
    ])
    const file = join(dir, `snippet-${index + 1}.ts`)
    await writeFile(file, source)
    const { stdout, stderr } = await run(process.execPath, [file], { cwd: dir, timeout: 15_000 })
    assert.equal(stderr, '', 'the snippet wrote to stderr')
    for (const pattern of expectations[index] ?? []) assert.match(stdout, pattern)
  })
}
