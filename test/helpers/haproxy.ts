/**
 * A real HAProxy for tests: written config, `haproxy -db`, and a bounded
 * wait until its frontends accept (it prints nothing when it is listening).
 */
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { type Peer, spawnPeer } from './process.ts'

/** Retries a connection to `host:port` until HAProxy accepts, within 10 s. */
export async function waitForHaproxy(
  haproxy: Peer,
  port: number,
  host = '127.0.0.1',
): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const socket = connect({ host, port })
    try {
      await once(socket, 'connect') // Rejects on 'error', e.g. ECONNREFUSED.
      return
    } catch (error) {
      if (haproxy.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`HAProxy did not listen on ${host}:${port}: ${error}\n${haproxy.output}`)
      }
      // Poll without a fixed sleep: retry at the next macrotask turns.
      await new Promise((resolve) => setTimeout(resolve, 20))
    } finally {
      socket.destroy()
    }
  }
}

/**
 * Writes `config` to `dir/haproxy.cfg`, starts HAProxy in the foreground
 * (killed after the current test, or by `kill()`), and waits for `ports`.
 *
 * @example
 * const haproxy = await startHaproxy(dir, cfg, [front])
 */
export async function startHaproxy(dir: string, config: string, ports: number[]): Promise<Peer> {
  const file = join(dir, 'haproxy.cfg')
  await writeFile(file, config)
  const haproxy = await spawnPeer('haproxy', ['-db', '-f', file])
  for (const port of ports) await waitForHaproxy(haproxy, port)
  return haproxy
}
