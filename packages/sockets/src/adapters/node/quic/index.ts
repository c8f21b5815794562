/** The Node.js QUIC engine: quiche, driven by our own loop (see docs/decisions.md). */
import type { QuicPlatform } from '../../../quic/platform.ts'
import { connectQuic, QuicheServer } from './endpoint.ts'

export const nodeQuicPlatform: QuicPlatform = {
  connectQuic,
  listenQuic: (request) => new QuicheServer(request),
}
