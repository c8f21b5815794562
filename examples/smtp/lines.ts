/**
 * SMTP is line-based, but TCP delivers arbitrary chunks: a command, or the
 * `\r\n.\r\n` that ends a message, may arrive split across reads. This
 * reader buffers bytes and hands out one line at a time, without its line
 * ending (CRLF, or a bare LF from a lenient client).
 */

const LF = 0x0a
const CR = 0x0d

/** A line's bytes, or `'overflow'`: more than `maxBuffered` bytes arrived with no line end. */
export type Line = Uint8Array | 'overflow'

/**
 * Pulls lines from a stream reader.
 *
 * @example
 * const lines = new LineReader(socket.readable.getReader(), 65536)
 * for (let line = await lines.next(); line !== undefined; line = await lines.next()) { ... }
 */
export class LineReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #maxBuffered: number
  #buffer: Uint8Array = new Uint8Array(0)
  /** Bytes before this index are known to hold no LF, so the next search starts here. */
  #scanned = 0

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, maxBuffered: number) {
    this.#reader = reader
    this.#maxBuffered = maxBuffered
  }

  /** The next line, `'overflow'`, or `undefined` once the peer has closed. */
  async next(): Promise<Line | undefined> {
    for (;;) {
      const end = this.#buffer.indexOf(LF, this.#scanned)
      if (end >= 0) return this.#take(end)
      if (this.#buffer.length > this.#maxBuffered) return 'overflow'
      this.#scanned = this.#buffer.length
      const { done, value } = await this.#reader.read()
      if (done) return undefined
      this.#append(value)
    }
  }

  /** Hands the stream back, dropping whatever is buffered (see STARTTLS in worker.ts). */
  release(): void {
    this.#buffer = new Uint8Array(0)
    this.#scanned = 0
    this.#reader.releaseLock()
  }

  #take(end: number): Uint8Array {
    const line = this.#buffer.subarray(0, end > 0 && this.#buffer[end - 1] === CR ? end - 1 : end)
    this.#buffer = this.#buffer.subarray(end + 1)
    this.#scanned = 0
    return line
  }

  #append(chunk: Uint8Array): void {
    if (this.#buffer.length === 0) {
      this.#buffer = chunk
      return
    }
    const joined = new Uint8Array(this.#buffer.length + chunk.length)
    joined.set(this.#buffer)
    joined.set(chunk, this.#buffer.length)
    this.#buffer = joined
  }
}
