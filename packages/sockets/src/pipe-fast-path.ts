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
 * while the runtime holds it, the pipe reads ahead up to a bound, then
 * pauses the source. What it read meanwhile goes out as one write.
 */
import { atEndOfTurn } from './promises.ts'

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
  /** While a pipe writes here, how to wait until it holds no chunk: the end of output waits for it. */
  fedBy(idle: (() => Promise<void>) | undefined): void
  /** Whether the channel below writes a list of chunks in one call (`writev`): then batching pays. */
  writesMany(): boolean
  /** Writes `chunks` below the writable, in order; `done` runs once the runtime let go. Returns whether it already has. */
  forward(chunks: Uint8Array[], done: () => void): boolean
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

  // The readable closes as its last queued chunk is read, before the loop
  // below has written that chunk: `drained` resolves once the loop is done.
  const drained = Promise.withResolvers<void>()
  /**
   * Chunks already read go to the destination first, as the spec's pipe
   * finishes its pending writes, unless the destination is being aborted
   * or has failed: then they are lost with it.
   */
  const written = async () => {
    await drained.promise
    await pump?.idle()
  }

  /** Stops moving bytes, runs the shutdown `actions`, then settles as `error` says. */
  const shutdown = (
    actions: () => Promise<unknown>,
    error?: { reason: unknown },
    writeFirst = false,
  ) => {
    if (shuttingDown) return
    shuttingDown = true
    source.divert(undefined)
    const run = writeFirst ? written().then(actions) : actions()
    run.then(
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
    const actions = () => Promise.all([abortDest(reason)(), cancelSource(reason)()])
    shutdown(actions, { reason }, preventAbort)
  }

  signal?.addEventListener('abort', onAbort, { once: true })
  reader.closed.then(
    () => shutdown(() => (preventClose ? Promise.resolve() : writer.close()), undefined, true),
    (reason: unknown) => shutdown(abortDest(reason), { reason }, preventAbort),
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
      dest.fedBy(pump.idle)
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
    if (pump !== undefined) dest.fedBy(undefined)
    reader.releaseLock()
    writer.releaseLock()
  }
}

/**
 * How far a pipe reads ahead of a write still outstanding, and so the most
 * it writes at once. About 256 KiB per write system call is what doubled an
 * echo's throughput in issue 12's research.
 */
const batchBytes = 256 * 1024

/**
 * A chunk this large suggests that the read filled the runtime's buffer and
 * more is waiting in the kernel, to be read in this same turn: the pipe
 * waits for the turn's last read and writes them all at once. A smaller
 * chunk was the last read, and goes out at once (a request, a ping).
 */
const fullRead = 16 * 1024

/**
 * Writes what `source` reports to `dest`, one write outstanding at a time,
 * as the channel contract asks. Chunks that arrive while a write is
 * outstanding, or in the same turn as a large one, wait in order and go out
 * together, as one `writev` where the channel has it: bigger writes, fewer
 * system calls. `source` is held once `batchBytes` wait.
 *
 * `idle()` resolves once the runtime let go of every chunk pushed so far,
 * so that the end of output goes out after them; chunks pushed later do
 * not hold it up, so a steady stream cannot delay a `close()` for ever.
 */
interface Forwarder {
  push(chunk: Uint8Array): void
  idle(): Promise<void>
}

function forwarder(source: PipeEnd, dest: PipeEnd): Forwarder {
  // Without `writev`, a batch would cost a copy: each chunk goes out on its
  // own, and the source pauses while a write is outstanding (a QUIC stream).
  const batching = dest.writesMany()
  const limit = batching ? batchBytes : 0
  let queue: Uint8Array[] = []
  let queued = 0
  let outstanding = 0
  let scheduled = false
  let pushed = 0
  let written = 0
  const waiting: Array<{ upTo: number; resolve: () => void }> = []
  const flush = () => {
    while (outstanding === 0 && queue.length > 0) {
      const chunks = queue
      queue = []
      queued = 0
      if (dest.forward(chunks, released)) written += chunks.length
      else outstanding = chunks.length
    }
    // Read on while there is room to read ahead, or nothing is outstanding.
    source.hold(outstanding > 0 && queued >= limit)
    while (waiting.length > 0 && (waiting[0]?.upTo ?? 0) <= written) waiting.shift()?.resolve()
  }
  const released = () => {
    written += outstanding
    outstanding = 0
    flush()
  }
  const flushAtEndOfTurn = () => {
    scheduled = false
    flush()
  }
  return {
    push(chunk) {
      pushed++
      queue.push(chunk)
      queued += chunk.byteLength
      if (queued >= limit) {
        if (outstanding > 0) return source.hold(true)
        return flush()
      }
      if (outstanding > 0 || scheduled) return
      if (chunk.byteLength < fullRead) return flush()
      scheduled = atEndOfTurn(flushAtEndOfTurn)
      if (!scheduled) flush()
    },
    idle() {
      if (written === pushed) return Promise.resolve()
      const { promise, resolve } = Promise.withResolvers<void>()
      waiting.push({ upTo: pushed, resolve })
      return promise
    },
  }
}
