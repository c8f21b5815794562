/**
 * @sockworker/sockets on Deno: installs the Deno adapter, then exports the
 * portable API.
 */
import { installPlatform } from '../../platform.ts'
import { installQuicPlatform, noQuic } from '../../quic/platform.ts'
import { hasUnstableNet } from './deno-api.ts'
import { denoPlatform } from './platform.ts'
import { denoQuicPlatform } from './quic/index.ts'

installPlatform(denoPlatform)
// Deno's QUIC exists only under --unstable-net, the flag that also exposes Deno.listenDatagram.
installQuicPlatform(
  hasUnstableNet()
    ? denoQuicPlatform
    : noQuic('Deno', 'QUIC without --unstable-net', 'run Deno with --unstable-net'),
)

export * from '../../index.ts'
