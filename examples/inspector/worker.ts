/**
 * inspector: a packet inspector and filter. A TCP proxy to `env.UPSTREAM`
 * that logs every chunk each way (direction, byte count, a printable
 * preview) and hangs up on both sides when the client sends `env.BLOCK`.
 *
 *   redis-cli -p 7001 SET k v     # passes, and the log shows both chunks
 *   redis-cli -p 7001 FLUSHALL    # blocked: the connection closes
 *
 * BLOCK is a literal (`FLUSHALL`) or a regular expression (`/flush(all|db)/i`).
 * Half-close: when one side ends its output, the other side's writable is
 * ended once what was read before it has been written.
 */
import { connect, type Socket } from '@sockworker/sockets'
import { parsePattern, preview, StreamMatcher } from './filter.ts'

let connections = 0

export default {
  async connect(client: Socket, env: Record<string, unknown>): Promise<void> {
    const id = ++connections
    const log = (message: string) => console.log(`inspector #${id} ${message}`)
    const upstreamAddress = String(env['UPSTREAM'] ?? '')
    const block = typeof env['BLOCK'] === 'string' && env['BLOCK'] !== '' ? env['BLOCK'] : undefined
    let matcher: StreamMatcher | undefined
    try {
      if (upstreamAddress === '') throw new Error('No UPSTREAM configured: give one as host:port')
      if (block !== undefined) matcher = new StreamMatcher(parsePattern(block))
    } catch (error) {
      log(`closed: ${error instanceof Error ? error.message : String(error)}`)
      await client.close().catch(() => {})
      return
    }
    // Our writable to the upstream stays open after it ends its side.
    const upstream = connect(upstreamAddress, { allowHalfOpen: true })
    try {
      await upstream.opened
    } catch (error) {
      log(`cannot reach upstream ${upstreamAddress}: ${String(error)}`)
      await client.close().catch(() => {})
      return
    }
    log(`open ${client.info.remoteAddress}:${client.info.remotePort} -> ${upstreamAddress}`)
    const closeBoth = () => Promise.all([client.close(), upstream.close()]).catch(() => {})
    await Promise.all([
      relay(client, upstream, 'client -> upstream', log, (chunk) => {
        const match = matcher?.push(chunk)
        if (match !== undefined) log(`BLOCKED ${JSON.stringify(match)}: closing both sides`)
        return match !== undefined
      }),
      relay(upstream, client, 'upstream -> client', log),
    ]).catch(async (error: unknown) => {
      log(`closing: ${error instanceof Error ? error.message : String(error)}`)
      await closeBoth()
    })
    await closeBoth()
    log('closed')
  },
}

/**
 * Copies `from` to `to`, logging each chunk. A chunk that `blocked` rejects
 * is not sent, and the whole exchange ends with an error.
 */
async function relay(
  from: Socket,
  to: Socket,
  direction: string,
  log: (message: string) => void,
  blocked: (chunk: Uint8Array) => boolean = () => false,
): Promise<void> {
  const reader = from.readable.getReader()
  const writer = to.writable.getWriter()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    log(`${direction} ${value.byteLength} bytes "${preview(value)}"`)
    if (blocked(value)) throw new Error('blocked pattern')
    await writer.write(value)
  }
  log(`${direction} end`)
  // Sends FIN once the queued writes are out. An accepted socket (its
  // allowHalfOpen is false) has closed its writable already when its
  // client ended, so there is nothing left to close then.
  await writer.close().catch(() => {})
}
