/**
 * kv: a database at the edge. A Redis-protocol (RESP2) key-value server on
 * the storage binding `env.STORE`, so any Redis client can use it:
 *
 *   redis-cli -p 6380 SET greeting hello EX 60
 *   redis-cli -p 6380 GET greeting
 *
 * Commands: PING ECHO GET SET (EX PX NX XX KEEPTTL) DEL EXISTS INCR DECR
 * INCRBY DECRBY EXPIRE PEXPIRE TTL PTTL KEYS MGET MSET SELECT 0 QUIT.
 * Replies for a chunk of pipelined commands go out in one write.
 */
import type { Socket } from '@sockworker/sockets'
import type { Storage } from '../../packages/sockworker/src/storage/types.ts'
import { execute } from './commands.ts'
import { concat, error, ProtocolError, RespReader } from './resp.ts'

export default {
  async connect(socket: Socket, env: Record<string, unknown>): Promise<void> {
    const writer = socket.writable.getWriter()
    const storage = env['STORE'] as Storage | undefined
    try {
      if (!storage) {
        await writer.write(error('ERR no storage binding: give the worker a STORE binding'))
        return
      }
      await serve(socket.readable, writer, storage)
    } catch {
      // The client went away mid-reply (reset, broken pipe): nothing to tell it.
    } finally {
      await socket.close().catch(() => {})
    }
  },
}

/** Reads commands until the client closes, sends QUIT, or breaks the protocol. */
async function serve(
  readable: ReadableStream<Uint8Array>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  storage: Storage,
): Promise<void> {
  const reader = readable.getReader()
  const requests = new RespReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    requests.push(value)
    const replies: Uint8Array[] = []
    let end = false
    for (;;) {
      let args: Uint8Array[] | undefined
      try {
        args = requests.next()
      } catch (cause) {
        if (!(cause instanceof ProtocolError)) throw cause
        // Redis answers malformed requests with this, then hangs up.
        replies.push(error(`ERR Protocol error: ${cause.message}`))
        end = true
        break
      }
      if (!args) break
      replies.push(await execute(storage, args))
      if (isQuit(args[0])) {
        end = true
        break
      }
    }
    if (replies.length > 0) await writer.write(concat(replies))
    if (end) return
  }
}

/** `QUIT`, in any case, read from the bytes. */
function isQuit(name: Uint8Array | undefined): boolean {
  if (name?.length !== 4) return false
  return String.fromCharCode(name[0]!, name[1]!, name[2]!, name[3]!).toUpperCase() === 'QUIT'
}
