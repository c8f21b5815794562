/**
 * @sockworker/sockets on Deno: installs the Deno adapter, then exports the
 * portable API.
 */
import { installPlatform } from '../../platform.ts'
import { denoPlatform } from './platform.ts'

installPlatform(denoPlatform)

export * from '../../index.ts'
