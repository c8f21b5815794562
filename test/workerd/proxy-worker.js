// The cloudflare:sockets proxy pattern, as written for Cloudflare Workers: the
// same file runs on workerd and under sockworker (test/workerd/workerd.test.ts).
import { connect } from 'cloudflare:sockets'

export default {
  async connect(socket, env) {
    const upstream = connect(env.UPSTREAM)
    await Promise.all([
      socket.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(socket.writable),
    ])
  },
}
