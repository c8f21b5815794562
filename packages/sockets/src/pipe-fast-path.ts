/**
 * `readable.pipeTo(writable)` when both ends are byte sockets of ours: an
 * echo (`socket.readable.pipeTo(socket.writable)`), a proxy, an inspector.
 *
 * The streams stay locked and keep their observable behaviour, but the bytes
 * skip them: each chunk the source channel reports is written straight to
 * the destination channel. Per chunk, that saves a byte-stream `enqueue()`,
 * a read, a `WritableStream` write and their promises, which is most of
 * what a piped byte costs (docs/benchmarks.md).
 *
 * The lifecycle follows the spec's ReadableStreamPipeTo: the pipe watches
 * `reader.closed`, `writer.closed` and `signal`, and applies
 * `preventClose`, `preventAbort` and `preventCancel` exactly as there.
 * Backpressure: one write is outstanding at a time, as with the streams;
 * the source pauses while the runtime holds it.
 */
/** `pipeTo()`'s options (the web-streams type is not global in every runtime's typings). */
export interface PipeOptions {
  preventClose?: boolean
  preventAbort?: boolean
  preventCancel?: boolean
  signal?: AbortSignal
}

/** What the fast path needs from a transport; `StreamTransport` implements it. */
export interface PipeEnd {
  /** Bytes in the readable's queue, not yet read. */
  queuedBytes(): number
  /** Routes incoming chunks to `sink` instead of the readable's queue; `undefined` routes them back. */
  divert(sink: ((chunk: Uint8Array) => void) | undefined): void
  /** Stops or restarts reading from the peer while diverted. */
  hold(held: boolean): void
  /** Writes below the writable; `done` runs once the runtime let go. Returns whether it already has. */
  forward(chunk: Uint8Array, done: () => void): boolean
}

/**
 * Pipes with `reader` and `writer` already taken (the streams are locked).
 * The caller makes sure `signal` is not aborted yet.
 */
export async function fastPipe(
  source: PipeEnd,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  dest: PipeEnd,
  writer: WritableStreamDefaultWriter<ArrayBufferView | ArrayBuffer>,
  options: PipeOptions,
): Promise<void> {
  const { preventClose = false, preventAbort = false, preventCancel = false, signal } = options
  const settled = Promise.withResolvers<void>()
  let shuttingDown = false
  let pump: Forwarder | undefined

  /** Stops moving bytes, runs the shutdown `actions`, then settles as `outcome` says. */
  const shutdown = (actions: () => Promise<unknown>, error?: { reason: unknown }) => {
    if (shuttingDown) return
    shuttingDown = true
    source.divert(undefined)
    actions().then(
      () => (error === undefined ? settled.resolve() : settled.reject(error.reason)),
      (actionError: unknown) => settled.reject(error === undefined ? actionError : error.reason),
    )
  }
  const cancelSource = (reason: unknown) => () =>
    preventCancel ? Promise.resolve() : reader.cancel(reason)
  const abortDest = (reason: unknown) => () =>
    preventAbort ? Promise.resolve() : writer.abort(reason)
  const onAbort = () => {
    const reason = signal?.reason
    shutdown(() => Promise.all([abortDest(reason)(), cancelSource(reason)()]), { reason })
  }

  // The readable closes as its last queued chunk is read, before the loop
  // below has written that chunk: closing the writer waits for the loop, as
  // the spec's pipe finishes its pending writes before it closes.
  const drained = Promise.withResolvers<void>()
  signal?.addEventListener('abort', onAbort, { once: true })
  reader.closed.then(
    () =>
      shutdown(async () => {
        await drained.promise
        // Bytes still waiting for the channel go before the end of input.
        await pump?.idle()
        if (!preventClose) await writer.close()
      }),
    (reason: unknown) => shutdown(abortDest(reason), { reason }),
  )
  writer.closed.then(
    () => {
      // Only this pipe holds the writer, so a destination that closes under
      // it was closed through its socket.
      const reason = new TypeError('The destination closed while the pipe was running')
      shutdown(cancelSource(reason), { reason })
    },
    (reason: unknown) => shutdown(cancelSource(reason), { reason }),
  )

  try {
    // The connection must be open before bytes go below the writable, and
    // what already sits in the readable's queue goes first.
    await writer.ready
    while (source.queuedBytes() > 0 && !shuttingDown) {
      const { done, value } = await reader.read()
      if (done) break
      await writer.write(value)
    }
    if (!shuttingDown) {
      pump = forwarder(source, dest)
      source.divert(pump.push)
    }
  } catch {
    // A failed read or write errors its stream: the handlers above see it.
  } finally {
    drained.resolve()
  }

  try {
    await settled.promise
  } finally {
    signal?.removeEventListener('abort', onAbort)
    reader.releaseLock()
    writer.releaseLock()
  }
}

/**
 * Writes each chunk to `dest`, one write outstanding at a time, as the
 * channel contract asks: while the runtime holds a chunk, `source` is held
 * and what still arrives waits here, in order. `idle()` resolves once
 * nothing waits, so that the end of input goes out after the last byte.
 */
interface Forwarder {
  push(chunk: Uint8Array): void
  idle(): Promise<void>
}

function forwarder(source: PipeEnd, dest: PipeEnd): Forwarder {
  const queue: Uint8Array[] = []
  let outstanding = false
  let drained: PromiseWithResolvers<void> | undefined
  const send = (chunk: Uint8Array) => {
    if (dest.forward(chunk, released)) return
    outstanding = true
    source.hold(true)
  }
  const released = () => {
    outstanding = false
    while (!outstanding && queue.length > 0) send(queue.shift() as Uint8Array)
    if (outstanding) return
    source.hold(false)
    drained?.resolve()
    drained = undefined
  }
  return {
    push: (chunk) => (outstanding ? queue.push(chunk) : send(chunk)),
    idle() {
      if (!outstanding) return Promise.resolve()
      drained ??= Promise.withResolvers<void>()
      return drained.promise
    },
  }
}
