/**
 * A worker for the reload e2e tests. It greets with its version, then
 * echoes what it gets until the client ends. The line "slow" is answered
 * only after 300 ms, so that a test can shut down mid-handler. The test
 * rewrites `version` to make the next generation.
 */
const version = 'v1'
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export default {
  async connect(socket) {
    const writer = socket.writable.getWriter()
    await writer.write(encoder.encode(`${version}\n`))
    const reader = socket.readable.getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      if (decoder.decode(value).trim() === 'slow') {
        await new Promise((resolve) => setTimeout(resolve, 300))
        await writer.write(encoder.encode(`late ${version}\n`))
        return
      }
      await writer.write(value)
    }
  },
}
