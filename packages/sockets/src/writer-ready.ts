/** `writer.ready` that means "connected", as drivers for `cloudflare:sockets` expect. */

/**
 * Drivers written for `cloudflare:sockets` (pg-cloudflare among them) take
 * `writer.ready` to mean "connected". A standard writable resolves `ready` at
 * once, so writers of this stream see a `ready` that first waits for the
 * connection.
 */
export function gateReadyOnOpen(writable: WritableStream, open: Promise<void>): void {
  let connected = false
  open.then(
    () => (connected = true),
    () => {},
  )
  const getWriter = writable.getWriter.bind(writable)
  Object.defineProperty(writable, 'getWriter', {
    value: () => {
      const writer = getWriter()
      if (connected) return writer
      const nativeReady = Object.getOwnPropertyDescriptor(
        Object.getPrototypeOf(writer) as object,
        'ready',
      )?.get
      Object.defineProperty(writer, 'ready', {
        get: () =>
          connected ? nativeReady?.call(writer) : open.then(() => nativeReady?.call(writer)),
      })
      return writer
    },
  })
}
