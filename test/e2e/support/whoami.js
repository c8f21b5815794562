/**
 * A worker for the multi-instance e2e tests: it answers each connection
 * with one line, "<NAME> <client address>:<client port>", and closes. Behind
 * a PROXY protocol listener, the address is the one the header carried.
 */
const encoder = new TextEncoder()

export default {
  async connect(socket, env) {
    const { remoteAddress, remotePort } = socket.info
    const writer = socket.writable.getWriter()
    await writer.write(encoder.encode(`${env.NAME} ${remoteAddress}:${remotePort}\n`))
    await writer.close()
  },
}
