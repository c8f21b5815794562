/**
 * A listener for tests whose `await using` disposal is bounded: if
 * `listener.close()` hangs (it waits for the runtime's server to close), the
 * test fails with a clear message instead of stalling the whole file.
 */
import type { ListenOptions } from '@sockworker/sockets'
import { type Server, server, within } from '../conformance/util.ts'

/**
 * `server()` from the conformance utilities, with a 5 s bound on closing.
 *
 * @example
 * await using srv = await serve({ type: 'tls', tls: certs.server })
 * const client = connect(srv.address, { secureTransport: 'on', tls: { ca: certs.ca } })
 */
export async function serve(options: ListenOptions = {}): Promise<Server> {
  const srv = await server(options)
  return {
    ...srv,
    async [Symbol.asyncDispose]() {
      await within(srv.listener.close(), 5000, `the ${options.type ?? 'tcp'} listener to close`)
    },
  }
}
