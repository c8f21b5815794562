/**
 * The globals a worker sees: `connect` and `Socket` (the same API as the
 * modules), and `addEventListener` for the service-worker form.
 */
import { connect, Socket, SocketError } from '@sockworker/sockets'
import { type Listener, workerEvents } from './events.ts'

export function installGlobals(): void {
  Object.assign(globalThis, {
    connect,
    Socket,
    SocketError,
    addEventListener: (type: string, listener: Listener) => workerEvents.add(type, listener),
  })
}
