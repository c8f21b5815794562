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
  /** Routes incoming chunks to `sink.push()` instead of the readable's queue; `undefined` routes them back. */
  divert(sink: PipeSink | undefined): void
  /** Stops or restarts reading from the peer while diverted. */
  hold(held: boolean): void
  /** While a pipe writes here, the pipe: the end of output waits for its `idle()`. */
  fedBy(pipe: PipeSink | undefined): void
  /** Whether the channel below writes a list of chunks in one call (`writev`): then batching pays. */
  writesMany(): boolean
  /** Writes `chunks` below the writable, in order; `from.released()` runs once the runtime let go. Returns whether it already has. */
  forward(chunks: Uint8Array[], from: PipeSink): boolean
}

/** A pipe's forwarding end, as its source and destination see it. */
export interface PipeSink {
  /** A chunk from the source. */
  push(chunk: Uint8Array): void
  /** Resolves once the runtime let go of every chunk pushed so far. */
  idle(): Promise<void>
  /** The destination let go of the chunks of the write outstanding. */
  released(): void
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
  /** Stops moving bytes, runs the shutdown `actions`, then settles as `error` says. */
  const shutdown = (
    actions: () => Promise<unknown>,
    error?: { reason: unknown },
    writeFirst = false,
  ) => {
    if (shuttingDown) return
    shuttingDown = true
    source.divert(undefined)
    // Chunks already read go to the destination first, as the spec's pipe
    // finishes its pending writes, unless the destination is being aborted
    // or has failed: then they are lost with it.
    const run = writeFirst ? drained.promise.then(() => pump?.idle()).then(actions) : actions()
    run.then(
      () => (error === undefined ? settled.resolve() : settled.reject(error.reason)),
      (actionError: unknown) => settled.reject(error === undefined ? actionError : error.reason),
    )
  }
  // Module-level helpers, and `onAbort` only with a signal: each closure
  // here lives as long as the pipe (docs/benchmarks.md, per-connection cost).
  const onAbort =
    signal === undefined
      ? undefined
      : () => {
          const reason = signal.reason
          const actions = () =>
            Promise.all([
              aborting(writer, preventAbort, reason)(),
              cancelling(reader, preventCancel, reason)(),
            ])
          shutdown(actions, { reason }, preventAbort)
        }

  if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, { once: true })
  reader.closed.then(
    () => shutdown(() => (preventClose ? Promise.resolve() : writer.close()), undefined, true),
    (reason: unknown) => shutdown(aborting(writer, preventAbort, reason), { reason }, preventAbort),
  )
  writer.closed.then(
    () => {
      // Only this pipe holds the writer, so a destination that closes under
      // it was closed through its socket.
      const reason = new TypeError('The destination closed while the pipe was running')
      shutdown(cancelling(reader, preventCancel, reason), { reason })
    },
    (reason: unknown) => shutdown(cancelling(reader, preventCancel, reason), { reason }),
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
      pump = new Forwarder(source, dest)
      dest.fedBy(pump)
      source.divert(pump)
    }
  } catch {
    // A failed read or write errors its stream: the handlers above see it.
  } finally {
    drained.resolve()
  }

  try {
    await settled.promise
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    if (pump !== undefined) dest.fedBy(undefined)
    reader.releaseLock()
    writer.releaseLock()
  }
}

/** The shutdown action that cancels the source, unless `preventCancel`. */
function cancelling(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  prevent: boolean,
  reason: unknown,
): () => Promise<void> {
  return () => (prevent ? Promise.resolve() : reader.cancel(reason))
}

/** The shutdown action that aborts the destination, unless `preventAbort`. */
function aborting(
  writer: WritableStreamDefaultWriter<ArrayBufferView | ArrayBuffer>,
  prevent: boolean,
  reason: unknown,
): () => Promise<void> {
  return () => (prevent ? Promise.resolve() : writer.abort(reason))
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
class Forwarder implements PipeSink {
  readonly #source: PipeEnd
  readonly #dest: PipeEnd
  readonly #limit: number
  #queue: Uint8Array[] = []
  #queued = 0
  #outstanding = 0
  #scheduled = false
  #pushed = 0
  #written = 0
  readonly #waiting: Array<{ upTo: number; resolve: () => void }> = []
  /** Made on the first large read: a quiet connection never needs it. */
  #flushAtEndOfTurn: (() => void) | undefined

  constructor(source: PipeEnd, dest: PipeEnd) {
    this.#source = source
    this.#dest = dest
    // Without `writev`, a batch would cost a copy: each chunk goes out on its
    // own, and the source pauses while a write is outstanding (a QUIC stream).
    this.#limit = dest.writesMany() ? batchBytes : 0
  }

  push(chunk: Uint8Array): void {
    this.#pushed++
    this.#queue.push(chunk)
    this.#queued += chunk.byteLength
    if (this.#queued >= this.#limit) {
      if (this.#outstanding > 0) return this.#source.hold(true)
      return this.#flush()
    }
    if (this.#outstanding > 0 || this.#scheduled) return
    if (chunk.byteLength < fullRead) return this.#flush()
    this.#flushAtEndOfTurn ??= () => {
      this.#scheduled = false
      this.#flush()
    }
    this.#scheduled = atEndOfTurn(this.#flushAtEndOfTurn)
    if (!this.#scheduled) this.#flush()
  }

  idle(): Promise<void> {
    if (this.#written === this.#pushed) return Promise.resolve()
    const { promise, resolve } = Promise.withResolvers<void>()
    this.#waiting.push({ upTo: this.#pushed, resolve })
    return promise
  }

  released(): void {
    this.#written += this.#outstanding
    this.#outstanding = 0
    this.#flush()
  }

  #flush(): void {
    while (this.#outstanding === 0 && this.#queue.length > 0) {
      const chunks = this.#queue
      this.#queue = []
      this.#queued = 0
      if (this.#dest.forward(chunks, this)) this.#written += chunks.length
      else this.#outstanding = chunks.length
    }
    // Read on while there is room to read ahead, or nothing is outstanding.
    this.#source.hold(this.#outstanding > 0 && this.#queued >= this.#limit)
    const waiting = this.#waiting
    while (waiting.length > 0 && (waiting[0]?.upTo ?? 0) <= this.#written) {
      waiting.shift()?.resolve()
    }
  }
}
