/**
 * A worker for the isolation and metrics e2e tests. It greets each
 * connection with its name and pid (so a test knows which replica
 * answered), then answers line commands:
 * - "spin" blocks the event loop for good (for the CPU watchdog);
 * - "throw" makes the handler throw;
 * - "deny" connects to 127.0.0.1:1, which the serve default policy denies;
 * - anything else is echoed back as "echo <line>".
 */
const encoder = new TextEncoder()
const decoder = new TextDecoder()

export default {
  async connect(socket, env) {
    const writer = socket.writable.getWriter()
    await writer.write(encoder.encode(`hello ${env.NAME} ${process.pid}\n`))
    const reader = socket.readable.getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      const line = decoder.decode(value).trim()
      if (line === 'spin') spin()
      if (line === 'throw') throw new Error(`${env.NAME} throws on request`)
      const reply = line === 'deny' ? await tryLoopback() : `echo ${line}`
      await writer.write(encoder.encode(`${reply}\n`))
    }
  },
}

function spin() {
  let n = 0
  while (n >= 0) n = (n + 1) % 1000
}

async function tryLoopback() {
  const outbound = connect('127.0.0.1:1')
  try {
    await outbound.opened
    return 'connected'
  } catch (error) {
    return `refused ${error.code}`
  } finally {
    outbound.close().catch(() => {})
  }
}
