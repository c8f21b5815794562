/** The Deno QUIC engine: Deno's own QUIC (quinn), under `--unstable-net` (see docs/decisions.md). */
import type { QuicPlatform } from '../../../quic/platform.ts'
import { connectQuic } from './connect.ts'
import { DenoQuicServer } from './server.ts'

export const denoQuicPlatform: QuicPlatform = {
  connectQuic,
  listenQuic: (request) => new DenoQuicServer(request),
}
