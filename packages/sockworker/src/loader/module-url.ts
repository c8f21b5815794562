/**
 * The runtime refers to some of its own modules by path (the replica entry
 * that `fork` starts, the compat module the loader hooks redirect to).
 * TypeScript rewrites the extensions of imports, not of these strings, so
 * they take the extension of the module that asks: `.ts` when the repository
 * runs its sources, `.js` when the package runs from `dist/`.
 */
import { extname } from 'node:path'

/**
 * The URL of the module at `path` (written with `.ts`), relative to `base`,
 * with `base`'s own extension.
 *
 * @example
 * const workerMain = ownModule('../worker/main.ts', import.meta.url)
 */
export function ownModule(path: string, base: string): URL {
  if (!path.endsWith('.ts')) throw new TypeError(`Module path "${path}" must end with .ts`)
  const extension = extname(new URL(base).pathname)
  return new URL(path.slice(0, -'.ts'.length) + extension, base)
}
