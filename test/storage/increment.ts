/**
 * One "instance" for the contention test: opens the binding given as JSON
 * in argv[2] (through `openBindings`, as a replica does), runs argv[3]
 * transactions that each increment the counter `n`, and prints the values
 * it handed out as one JSON array.
 *
 *   node test/storage/increment.ts '{"url":"redis://127.0.0.1:6379","namespace":"x"}' 50
 */
import { openBindings } from '../../packages/sockworker/src/storage/bindings.ts'

const [spec = '{}', count = '50'] = process.argv.slice(2)
const { STORE: storage } = openBindings({ STORE: JSON.parse(spec) })
if (storage === undefined) throw new Error('No storage')
const handedOut: number[] = []
for (let i = 0; i < Number(count); i++) {
  handedOut.push(
    await storage.transaction(async (tx) => {
      const next = Number((await tx.get('n')) ?? 0) + 1
      // Give the other process every chance to interleave.
      await new Promise((resolve) => setImmediate(resolve))
      await tx.put('n', String(next))
      return next
    }),
  )
}
process.stdout.write(`${JSON.stringify(handedOut)}\n`)
await (storage as unknown as { close(): unknown }).close()
