/**
 * What a Bun socket has not taken yet. Bun's `write()` takes what the kernel
 * (or TLS) accepts at once and keeps nothing, so the unwritten tail of each
 * chunk waits here as a view of the caller's own memory, uncopied. A chunk's
 * `done` runs once its last byte is out: only then may the caller reuse it.
 */
import type { SocketError } from '../../errors.ts'

export type Done = (error?: SocketError) => void

export class WriteQueue {
  readonly #writes: Array<{ chunk: Uint8Array; done: Done }> = []

  get empty(): boolean {
    return this.#writes.length === 0
  }

  push(chunk: Uint8Array, done: Done): void {
    this.#writes.push({ chunk, done })
  }

  /** Writes as much as `socket` takes; `true` once nothing waits. */
  flush(socket: { write(data: Uint8Array): number }): boolean {
    while (this.#writes.length > 0) {
      const head = this.#writes[0]!
      const written = socket.write(head.chunk)
      // -1: the socket is closing; its `close` fails what is left.
      if (written < 0) return false
      if (written < head.chunk.byteLength) {
        head.chunk = head.chunk.subarray(written)
        return false
      }
      this.#writes.shift()
      head.done()
    }
    return true
  }

  /** The socket closed: every chunk still waiting fails with `error`. */
  fail(error: SocketError): void {
    for (const { done } of this.#writes.splice(0)) done(error)
  }
}
