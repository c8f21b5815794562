/**
 * The worker of the storage benchmark. A client sends one line,
 * "<op> <count> <concurrency>", with op `get`, `put` or `tx`; the worker runs
 * `count` operations on env.STORE, `concurrency` in flight, and replies
 * with the elapsed milliseconds.
 */
import type { Socket } from '@sockworker/sockets'
import type { Storage } from '../../packages/sockworker/src/storage/types.ts'

const ops: Record<string, (store: Storage, i: number) => Promise<unknown>> = {
  get: (store, i) => store.get(`key:${i % 100}`),
  put: (store, i) => store.put(`key:${i % 100}`, `value ${i}`),
  tx: (store) =>
    store.transaction(async (tx) => {
      const n = Number((await tx.get('counter')) ?? 0)
      await tx.put('counter', String(n + 1))
    }),
}

export default {
  async connect(socket: Socket, env: { STORE: Storage }): Promise<void> {
    const reader = socket.readable.getReader()
    const writer = socket.writable.getWriter()
    const { value } = await reader.read()
    const [op = '', count = '0', concurrency = '1'] = new TextDecoder()
      .decode(value)
      .trim()
      .split(' ')
    const run = ops[op]
    if (run === undefined) {
      await writer.write(new TextEncoder().encode(`error unknown op ${op}\n`))
      return
    }
    let next = 0
    const lane = async () => {
      while (next < Number(count)) await run(env.STORE, next++)
    }
    const began = performance.now()
    await Promise.all([...Array(Number(concurrency))].map(lane))
    const ms = performance.now() - began
    await writer.write(new TextEncoder().encode(`${ms}\n`))
  },
}
