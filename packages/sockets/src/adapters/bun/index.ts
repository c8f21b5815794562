/**
 * @sockworker/sockets on Bun: installs the Bun adapter, then exports the
 * portable API.
 */
import { installPlatform } from '../../platform.ts'
import { installQuicPlatform, noQuic } from '../../quic/platform.ts'
import { bunPlatform } from './platform.ts'

installPlatform(bunPlatform)
installQuicPlatform(noQuic('Bun'))

export * from '../../index.ts'
