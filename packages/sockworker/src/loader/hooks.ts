/**
 * Module resolution inside a replica:
 * - `cloudflare:sockets` is our compat module;
 * - `@sockworker/sockets` is always this runtime's copy, wherever the worker
 *   lives, so that every socket shares one adapter and one egress policy;
 * - packages resolve with the `workerd` and `worker` export conditions first,
 *   so that drivers with a Workers build (pg-cloudflare) take it;
 * - the worker's own `.js` and `.ts` files load as ES modules, whatever the
 *   nearest package.json says, as on Cloudflare, where a worker's entry is
 *   always a module. `npm init -y` writes `"type": "commonjs"`, under which
 *   Node would refuse the worker's `import` statements. Files under
 *   `node_modules`, and `.cjs`/`.cts` files, keep Node's rules.
 */
import { registerHooks } from 'node:module'
import { ownModule } from './module-url.ts'

const redirects = new Map([
  ['cloudflare:sockets', ownModule('../compat/cloudflare-sockets.ts', import.meta.url).href],
  ['@sockworker/sockets', import.meta.resolve('@sockworker/sockets')],
])

const workerConditions = ['workerd', 'worker']

let installed = false

export function installModuleHooks(): void {
  if (installed) return
  installed = true
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const redirect = redirects.get(specifier)
      if (redirect !== undefined) return { url: redirect, shortCircuit: true }
      const conditions = [...workerConditions, ...(context.conditions ?? [])]
      return nextResolve(specifier, { ...context, conditions })
    },
    load(url, context, nextLoad) {
      const format = userModuleFormat(url)
      return nextLoad(url, format === undefined ? context : { ...context, format })
    },
  })
}

/** `module` or `module-typescript` for a file of the user's own, else Node decides. */
function userModuleFormat(url: string): 'module' | 'module-typescript' | undefined {
  if (!url.startsWith('file:') || url.includes('/node_modules/')) return undefined
  const path = new URL(url).pathname
  if (path.endsWith('.js')) return 'module'
  if (path.endsWith('.ts')) return 'module-typescript'
  return undefined
}
