/**
 * The globals a worker sees: `connect` and `Socket` (the same API as the
 * modules), and `addEventListener` for the service-worker form.
 */
import { connect, Socket, SocketError } from '@sockworker/sockets'
import { type Listener, workerEvents } from '../loader/worker-events.ts'

export function installGlobals(compatibility: 'workerd' | 'node'): void {
  if (compatibility === 'workerd') {
    // What workerd reports, and what drivers test to pick their Workers build
    // (pg takes pg-cloudflare, over cloudflare:sockets, over our sockets).
    Object.defineProperty(navigator, 'userAgent', {
      value: 'Cloudflare-Workers',
      configurable: true,
    })
  }
  Object.assign(globalThis, {
    connect,
    Socket,
    SocketError,
    addEventListener: (type: string, listener: Listener) => workerEvents.add(type, listener),
  })
}
