/**
 * @sockworker/sockets on Node.js: installs the Node adapter, then exports
 * the portable API.
 */
import { installPlatform } from '../../platform.ts'
import { nodePlatform } from './platform.ts'

installPlatform(nodePlatform)

export * from '../../index.ts'
