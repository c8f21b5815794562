// A library's view of @sockworker/sockets on workerd: each check's outcome is
// written back to the client as one JSON object.
import { connect, isSocketError, listen, Socket } from '@sockworker/sockets'

const code = (fn) => {
  try {
    fn()
    return 'no error'
  } catch (error) {
    return isSocketError(error) ? error.code : `${error.name}: ${error.message}`
  }
}

async function roundTrip(address) {
  const socket = connect(address)
  const info = await socket.opened
  const writer = socket.writable.getWriter()
  await writer.write(new TextEncoder().encode('ping'))
  const { value } = await socket.readable.getReader().read()
  await socket.close()
  return {
    echoed: new TextDecoder().decode(value),
    isSocket: socket instanceof Socket,
    port: info.remotePort,
  }
}

async function refusedCode(address) {
  try {
    await connect(address).opened
    return 'connected'
  } catch (error) {
    return isSocketError(error) ? error.code : String(error)
  }
}

export default {
  async connect(socket, env) {
    const report = {
      listen: code(() => listen({ port: 0 })),
      udp: code(() => new Socket({ type: 'udp', remote: { hostname: '127.0.0.1', port: 9 } })),
      tlsOption: code(() => connect(env.UPSTREAM, { tls: { ca: 'x' } })),
      badAddress: code(() => connect('no-port')),
      upstream: await roundTrip(env.UPSTREAM),
      refused: await refusedCode(env.CLOSED),
    }
    const writer = socket.writable.getWriter()
    await writer.write(new TextEncoder().encode(JSON.stringify(report)))
    await writer.close()
  },
}
