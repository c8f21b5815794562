/**
 * Module resolution inside a replica:
 * - `cloudflare:sockets` is our compat module;
 * - `@sockworker/sockets` is always this runtime's copy, wherever the worker
 *   lives, so that every socket shares one adapter and one egress policy;
 * - packages resolve with the `workerd` and `worker` export conditions first,
 *   so that drivers with a Workers build (pg-cloudflare) take it.
 */
import { registerHooks } from 'node:module'
import { ownModule } from '../module-url.ts'

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
  })
}
