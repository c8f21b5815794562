/**
 * Node's built-in modules that only some sockets need, loaded on first use.
 * Importing the socket API must not pay for TLS and crypto when a process
 * uses neither: `node:tls` alone costs a replica about 60 ms and, with
 * `node:crypto`, 7 MB (docs/benchmarks.md). The load is synchronous, so
 * `connect()` still returns its socket at once, and a built-in needs no file
 * access, so it loads as well after a sandbox's lockdown as before.
 */

/**
 * Returns a function that calls `load` once, on its first call, and then
 * returns what it returned.
 *
 * @example
 * const nodeTls = lazy(() => process.getBuiltinModule('node:tls'))
 * nodeTls().connect({ host, port })
 */
export function lazy<T>(load: () => T): () => T {
  let value: T | undefined
  let loaded = false
  return () => {
    if (!loaded) {
      value = load()
      loaded = true
    }
    return value as T
  }
}

/** `node:tls`: TLS connect, listen and StartTLS. */
export const nodeTls = lazy(() => process.getBuiltinModule('node:tls'))

/** `node:crypto`: QUIC connection IDs and certificate checks. */
export const nodeCrypto = lazy(() => process.getBuiltinModule('node:crypto'))
