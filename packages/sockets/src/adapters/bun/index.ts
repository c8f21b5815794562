/**
 * @sockworker/sockets on Bun: installs the Bun adapter, then exports the
 * portable API.
 */
import { installPlatform } from '../../platform.ts'
import { bunPlatform } from './platform.ts'

installPlatform(bunPlatform)

export * from '../../index.ts'
