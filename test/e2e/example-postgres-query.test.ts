/**
 * End to end: examples/postgres-query, run the way its README says, against
 * a throwaway PostgreSQL server. The test reads the README and runs what it
 * shows: the SQL that creates the table, the `sockworker dev` command (on a
 * free port, with the server's URL), every `curl` with its reply, and the
 * `sockworker serve` config. `npm run sockworker --` is `node
 * packages/sockworker/src/cli/main.ts`, which `startCli` runs directly.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { type PgServer, startPostgres } from '../servers/postgres.ts'
import { readyPorts, startCli, tempProject } from './cli.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const exampleDir = new URL('../../examples/postgres-query/', import.meta.url)

/** What the README shows, taken apart. */
interface Readme {
  sql: string
  devArgs: string[]
  /** `curl` paths and the replies the README prints for them. */
  exchanges: { path: string; reply: string }[]
  toml: string
}

async function readReadme(): Promise<Readme> {
  const text = await readFile(new URL('README.md', exampleDir), 'utf8')
  const sql = /<<'SQL'\n([\s\S]*?)\nSQL\n/.exec(text)?.[1]
  const dev = /^npm run sockworker -- (dev .*)$/m.exec(text)?.[1]
  const toml = /```toml\n([\s\S]*?)```/.exec(text)?.[1]
  assert.ok(sql && dev && toml, 'the README has its SQL, dev command and config')
  const exchanges = [
    ...text.matchAll(/^\$ curl 'http:\/\/127\.0\.0\.1:8080(\/[^']*)'\n(.*)$/gm),
  ].map(([, path = '', reply = '']) => ({ path, reply }))
  return { sql, devArgs: dev.split(/\s+/), exchanges, toml }
}

/** The README's dev command, on a free port and with the server's URL. */
function devArgs(readme: Readme, url: string): string[] {
  return readme.devArgs.map((arg) => {
    if (arg === '8080') return '0'
    if (arg.startsWith('DATABASE_URL=')) return `DATABASE_URL=${url}`
    return arg
  })
}

describe('examples/postgres-query, as its README runs it', { concurrency: false }, () => {
  let server: PgServer
  let readme: Readme

  before(async () => {
    readme = await readReadme()
    server = await startPostgres()
    const client = new pg.Client({ connectionString: server.connectionString })
    await client.connect()
    try {
      await client.query(readme.sql)
    } finally {
      await client.end()
    }
  })

  after(async () => {
    await server?.stop()
  })

  test('sockworker dev answers every curl in the README with the row it shows', async () => {
    assert.ok(readme.exchanges.length >= 3, 'the README shows its curls')
    await using cli = startCli(devArgs(readme, server.connectionString), { cwd: root })
    const { http: port } = await readyPorts(cli, ['http'])
    for (const { path, reply } of readme.exchanges) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`)
      assert.deepEqual(await response.json(), JSON.parse(reply), path)
    }
  })

  test('sockworker dev reports a wrong password with the driver message', async () => {
    const url = new URL(server.connectionString)
    url.password = 'wrong'
    await using cli = startCli(devArgs(readme, url.href), { cwd: root })
    const { http: port } = await readyPorts(cli, ['http'])
    const response = await fetch(`http://127.0.0.1:${port}/?id=1`)
    assert.equal(response.status, 502)
    assert.deepEqual(await response.json(), {
      error: `password authentication failed for user "${server.user}"`,
    })
  })

  test('sockworker serve with the README config, the URL as a secret', async () => {
    const toml = readme.toml
      .replace(
        'script = "worker.ts"',
        `script = ${JSON.stringify(fileURLToPath(new URL('worker.ts', exampleDir)))}`,
      )
      .replace('"127.0.0.1:5432"', `"127.0.0.1:${server.port}"`)
      .replace('"127.0.0.1:8080"', '"127.0.0.1:0"')
    await using project = await tempProject({ 'sockworker.toml': toml })
    await using cli = startCli(['serve', '--config', project.path('sockworker.toml')], {
      cwd: project.dir,
      env: { DATABASE_URL: server.connectionString },
    })
    const { http: port } = await readyPorts(cli, ['http'])
    for (const id of [1, 2, 1, 2]) {
      const response = await fetch(`http://127.0.0.1:${port}/?id=${id}`)
      assert.equal(response.status, 200)
      const row = (await response.json()) as { id: number }
      assert.equal(row.id, id)
    }
  })
})
