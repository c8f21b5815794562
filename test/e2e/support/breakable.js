/**
 * A worker for the /healthz e2e test. It fails to load while a file named
 * `broken` sits next to it, so a test can keep every replica down (each
 * restart throws at load, and the supervisor backs off) and then bring it
 * back by removing the file. On a connection it greets with its pid; the
 * line "exit" ends its process, as a crash would.
 */
import { existsSync } from 'node:fs'

if (existsSync(new URL('./broken', import.meta.url))) {
  throw new Error('broken: the test asked this worker to fail to load')
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export default {
  async connect(socket) {
    const writer = socket.writable.getWriter()
    await writer.write(encoder.encode(`hello ${process.pid}\n`))
    for await (const chunk of socket.readable) {
      if (decoder.decode(chunk).trim() === 'exit') process.exit(3)
    }
    await writer.close()
  },
}
