/**
 * DNS over TCP frames each message with a two-byte length (RFC 1035 section
 * 4.2.2; RFC 7766). TCP delivers arbitrary chunks, so a frame may arrive in
 * pieces, or several in one chunk: this collects them.
 */

/** The shortest DNS message: a header alone. */
const HEADER = 12

export class FrameReader {
  #pending = new Uint8Array(0)
  /** Set once a frame's length is too short to hold a DNS header: the stream cannot be trusted. */
  broken = false

  /**
   * Adds a chunk and returns every message it completes.
   *
   * @example
   * const frames = new FrameReader()
   * frames.push(Uint8Array.of(0, 12, 0xab)) // [] (the rest is still to come)
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const messages: Uint8Array[] = []
    let data = this.#pending.length === 0 ? chunk : concat(this.#pending, chunk)
    while (!this.broken && data.length >= 2) {
      const length = (data[0]! << 8) | data[1]!
      if (length < HEADER) this.broken = true
      else if (data.length < 2 + length) break
      else {
        messages.push(data.subarray(2, 2 + length))
        data = data.subarray(2 + length)
      }
    }
    // Copied, so that the chunk the runtime handed us is not held on to.
    this.#pending = data.slice()
    return messages
  }
}

/** Prefixes a message with its length, ready to write. */
export function frame(message: Uint8Array): Uint8Array {
  const framed = new Uint8Array(2 + message.length)
  framed[0] = message.length >> 8
  framed[1] = message.length & 0xff
  framed.set(message, 2)
  return framed
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length)
  joined.set(a)
  joined.set(b, a.length)
  return joined
}
