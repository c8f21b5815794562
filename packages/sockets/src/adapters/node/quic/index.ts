/**
 * The Node.js QUIC engine: quiche, driven by our own loop (see
 * docs/decisions.md). Its modules load on the first QUIC socket or
 * listener, not with the socket API: most processes never use QUIC.
 */
import { createRequire } from 'node:module'
import { extname } from 'node:path'
import { unsupported } from '../../../errors.ts'
import { type QuicListenRequest, type QuicPlatform, refusedServer } from '../../../quic/platform.ts'
import { lazy } from '../lazy.ts'

/**
 * `require()`, because `connectQuic` and `listenQuic` return at once;
 * Node 24 and Bun load an ES module (this one's `.ts` or built `.js`) so.
 */
const engine = lazy((): typeof import('./endpoint.ts') =>
  createRequire(import.meta.url)(`./endpoint${extname(import.meta.url)}`),
)

export const nodeQuicPlatform: QuicPlatform = {
  connectQuic: (request) => engine().connectQuic(request),
  listenQuic: (request) =>
    hasSniMap(request)
      ? refusedServer(
          unsupported(
            'Bun' in globalThis ? 'Bun' : 'Node.js',
            'choosing a QUIC server certificate by SNI (tls.sni): its quiche binding takes one certificate per listener',
            'give the listener one certificate in tls.cert and tls.key',
          ),
        )
      : new (engine().QuicheServer)(request),
}

function hasSniMap(request: QuicListenRequest): boolean {
  return request.tls.sni !== undefined && Object.keys(request.tls.sni).length > 0
}
