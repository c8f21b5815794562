/**
 * @sockworker/sockets on Node.js: installs the Node adapter, then exports
 * the portable API.
 */
import { installPlatform } from '../../platform.ts'
import { installQuicPlatform } from '../../quic/platform.ts'
import { nodePlatform } from './platform.ts'
import { nodeQuicPlatform } from './quic/index.ts'

installPlatform(nodePlatform)
installQuicPlatform(nodeQuicPlatform)

export * from '../../index.ts'
