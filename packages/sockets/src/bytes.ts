/** Conversions between what callers may write and the bytes a channel sends. */

/**
 * Views `chunk` as bytes without copying.
 * @throws TypeError for anything that is not an `ArrayBuffer` or a view of one.
 */
export function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk
  if (ArrayBuffer.isView(chunk))
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  if (chunk instanceof ArrayBuffer || chunk instanceof SharedArrayBuffer)
    return new Uint8Array(chunk)
  const what = typeof chunk === 'string' ? 'a string' : Object.prototype.toString.call(chunk)
  throw new TypeError(
    `Cannot write ${what}: write a Uint8Array or another ArrayBufferView (encode text with TextEncoder)`,
  )
}

/**
 * A byte stream's `enqueue()` transfers the chunk's whole ArrayBuffer. Runtimes
 * sometimes hand out views into a shared pool; transferring that would detach
 * other views, so those are copied. Chunks that own their buffer are not.
 */
export function ownedBytes(chunk: Uint8Array): Uint8Array {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
    ? chunk
    : chunk.slice()
}

/** One buffer holding `chunks` in order: one copy, for a channel that cannot write a list. */
export function joinBytes(chunks: Uint8Array[]): Uint8Array {
  let length = 0
  for (const chunk of chunks) length += chunk.byteLength
  const joined = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    joined.set(chunk, offset)
    offset += chunk.byteLength
  }
  return joined
}
