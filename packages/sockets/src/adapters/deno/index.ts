/**
 * @sockworker/sockets on Deno: installs the Deno adapter, then exports the
 * portable API.
 */
import { installPlatform } from '../../platform.ts'
import { installQuicPlatform, noQuic } from '../../quic/platform.ts'
import { denoPlatform } from './platform.ts'

installPlatform(denoPlatform)
installQuicPlatform(noQuic('Deno'))

export * from '../../index.ts'
