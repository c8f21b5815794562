/**
 * Bun's raw socket API for the Bun baselines: a listener on an ephemeral
 * loopback port whose sockets and itself are released with the run.
 */
import {
  type BunSocket,
  type BunSocketHandler,
  bun,
} from '../../packages/sockets/src/adapters/bun/api.ts'
import { HOST } from '../common.ts'

export { type BunSocket, bun }

/** `Bun.listen` on 127.0.0.1:0 with `handlers`; stopped, with its connections, by `res`. */
export function rawListener(
  res: AsyncDisposableStack,
  handlers: BunSocketHandler<undefined>,
): number {
  const listener = bun.listen({
    hostname: HOST,
    port: 0,
    allowHalfOpen: false,
    // Nagle off on accepted sockets too, as the socket API does by default.
    socket: { ...handlers, open: (socket) => void socket.setNoDelay(true) },
  })
  res.defer(() => listener.stop(true))
  return listener.port
}

/** `Bun.connect` to 127.0.0.1:`port`; resolves once connected, ended by `res`. */
export async function rawConnect(
  res: AsyncDisposableStack,
  port: number,
  handlers: BunSocketHandler<undefined>,
): Promise<BunSocket<undefined>> {
  const socket = await bun.connect({
    hostname: HOST,
    port,
    data: undefined,
    allowHalfOpen: false,
    socket: handlers,
  })
  res.defer(() => socket.terminate())
  socket.setNoDelay(true)
  return socket
}
