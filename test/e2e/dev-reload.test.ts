/**
 * End to end: `sockworker dev` reloads when the worker file changes. New
 * connections get the new version; a version that does not compile prints
 * its file and line, and the last good version keeps serving.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readyPorts, exchange as send, startCli, tempProject } from './cli.ts'

/** One fresh connection: the worker's two-character answer, or '' if it closed without one. */
const ask = (port: number) => send(port, '', { until: (got) => got.length >= 2 })

/** A worker that answers every connection with `reply` and closes. */
const replying = (reply: string) => `
export default {
  async connect(socket) {
    const writer = socket.writable.getWriter()
    await writer.write(new TextEncoder().encode(${JSON.stringify(reply)}))
  },
}
`

/** Line 3 opens a call that line 4 never closes. */
const BROKEN = `export default {
  async connect(socket) {
    socket.writable.getWriter().write(
  },
}
`

/**
 * Opens fresh connections until one answers `expected`, within a deadline.
 * Every answer on the way must be one of `allowed`: a reload loses nothing.
 */
async function pollUntil(port: number, expected: string, allowed: string[]): Promise<void> {
  const deadline = Date.now() + 10_000
  const seen: string[] = []
  for (;;) {
    const reply = await ask(port).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        `Port ${port} failed after ${JSON.stringify(seen)} (${error.code}): a reload must keep the listener`,
        { cause: error },
      )
    })
    seen.push(reply)
    if (reply === expected) return
    assert.ok(allowed.includes(reply), `Unexpected reply ${JSON.stringify(reply)}`)
    if (Date.now() > deadline) {
      throw new Error(`No ${JSON.stringify(expected)} within 10 s; got ${JSON.stringify(seen)}`)
    }
    // Fresh connections at a short interval, not a fixed wait for the reload.
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

test('dev reloads on change and keeps the last good version through a syntax error', async () => {
  await using project = await tempProject({ 'worker.ts': replying('v1') })
  const file = project.path('worker.ts')
  await using cli = startCli(['dev', file, '--tcp', '0'])
  const { tcp: port = 0 } = await readyPorts(cli, ['tcp'])
  const fail = (error: unknown): never => {
    throw new Error(`${(error as Error).message}\nCLI output:\n${cli.output}`, { cause: error })
  }

  try {
    assert.equal(await ask(port), 'v1')

    await project.write('worker.ts', replying('v2'))
    await pollUntil(port, 'v2', ['v1'])

    const from = cli.output.length
    await project.write('worker.ts', BROKEN)
    const literal = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const [where] = await cli.waitFor(new RegExp(`${literal}:(\\d+)`), 10_000, from)
    assert.match(where, /:[34]$/, 'the error points at the broken call')
    assert.match(cli.output.slice(from), /SyntaxError/)
    // The broken version never serves: the last good one still answers.
    const replies = await Promise.all(Array.from({ length: 5 }, () => ask(port)))
    assert.deepEqual(replies, ['v2', 'v2', 'v2', 'v2', 'v2'])

    await project.write('worker.ts', replying('v3'))
    await pollUntil(port, 'v3', ['v2'])
    assert.equal(cli.child.exitCode, null, 'dev is still running')
  } catch (error) {
    fail(error)
  }
})
