/**
 * @sockworker/sockets on Bun: installs the Bun adapter, then exports the
 * portable API.
 */
import { installPlatform } from '../../platform.ts'
import { installQuicPlatform } from '../../quic/platform.ts'
// Bun runs the Node engine as it is: quiche through Bun's Node-API and
// node:dgram, rather than Bun's own node:quic (see docs/decisions.md).
import { nodeQuicPlatform } from '../node/quic/index.ts'
import { bunPlatform } from './platform.ts'

installPlatform(bunPlatform)
installQuicPlatform(nodeQuicPlatform)

export * from '../../index.ts'
