/**
 * Reads from a `net.Socket` into buffers the channel owns and sizes, as
 * `net.connect({ onread })` does for client sockets, instead of Node's
 * 64 KiB allocation (then shrunk) per read.
 *
 * Why: a read that fills its buffer means the kernel had more, so the
 * buffer grows ×4, from 16 KiB up to 256 KiB. A bulk transfer then takes
 * 256 KiB per system call (issue 12's research: half the CPU per byte),
 * while a quiet connection holds no read buffer of its own at all.
 *
 * Node has no public `onread` for accepted sockets (`net.Server` takes no
 * such option), so this sets the same internal fields that the `onread`
 * option sets, found by their values on a probe socket. When a Node
 * release changes them, `ownReadBuffersWork` is false, sockets fall back to
 * `data` events, and own-read-buffers.test.ts fails so that we notice.
 */
import { Socket as NetSocket } from 'node:net'

const smallest = 16 * 1024
const largest = 256 * 1024

interface Internals {
  /** The buffer the next read goes into. */
  buffer: symbol
  /** Called with the number of bytes read into it. */
  callback: symbol
  /** Called after each read; what it returns is the next read's buffer. */
  next: symbol
}

function findInternals(): Internals | undefined {
  const buffer = new Uint8Array(1)
  const callback = () => true
  const probe = new NetSocket({ onread: { buffer, callback } })
  const fields = probe as unknown as Record<symbol, unknown>
  const symbols = Object.getOwnPropertySymbols(probe)
  const holding = (value: unknown) => symbols.find((symbol) => fields[symbol] === value)
  const next = symbols.find((s) => s.description === 'kBufferGen' && fields[s] === null)
  probe.destroy()
  const bufferField = holding(buffer)
  const callbackField = holding(callback)
  if (bufferField === undefined || callbackField === undefined || next === undefined) return
  return { buffer: bufferField, callback: callbackField, next }
}

const internals = findInternals()

/** Whether this Node still has the internal fields (own-read-buffers.test.ts checks it). */
export const ownReadBuffersWork = internals !== undefined

/**
 * Reads of one turn go one after another, and each read's bytes are copied
 * out or handed over before the next: so connections with little to read
 * share one buffer, and an idle connection holds no read memory at all.
 * The shared buffer is never handed over, so every socket that points at
 * it may keep doing so.
 */
const shared = Buffer.allocUnsafeSlow(smallest)

/**
 * One connection's reads. Its `next` and `read` are `onread`'s `buffer`
 * (the function form) and `callback`.
 *
 * - The shared 16 KiB buffer while reads are short: each read is copied
 *   out (a ping, a request).
 * - A read that fills its buffer means the kernel had more: the next read
 *   gets a buffer of its own, 4 times as large, up to 256 KiB. A filled
 *   own buffer is handed over whole (the core may transfer it), and
 *   replaced.
 * - A read under a quarter of the buffer steps back down a size.
 */
export class GrowingReadBuffer {
  #buffer: Buffer = shared
  readonly #deliver: (chunk: Uint8Array) => void

  constructor(deliver: (chunk: Uint8Array) => void) {
    this.#deliver = deliver
  }

  /** The buffer the next read goes into. */
  next = (): Uint8Array => this.#buffer

  /** `length` bytes were read into the buffer `next()` gave. True: `onread` reads on. */
  read = (length: number): true => {
    const filled = this.#buffer
    const size = filled.byteLength
    const nextSize =
      length === size ? Math.min(size * 4, largest) : length < size / 4 ? size / 4 : size
    // Copy out what is short; hand over an own buffer that is at least half full.
    const keep = filled === shared || length < size / 2
    if (keep) {
      const chunk = new Uint8Array(length)
      chunk.set(filled.subarray(0, length))
      this.#deliver(chunk)
    } else {
      this.#deliver(length === size ? filled : filled.subarray(0, length))
    }
    if (!keep || nextSize !== size) {
      this.#buffer = nextSize <= smallest ? shared : Buffer.allocUnsafeSlow(nextSize)
    }
    return true
  }
}

interface UserBufferHandle {
  useUserBuffer(buffer: Uint8Array): void
}

/**
 * Makes an accepted `socket` read into `reads` instead of emitting `data`,
 * as `onread` would have. Returns false, changing nothing, where it cannot.
 * Pausing afterwards stops a read the socket may have started.
 */
export function readIntoOwnBuffers(socket: NetSocket, reads: GrowingReadBuffer): boolean {
  const handle = (socket as unknown as { _handle?: Partial<UserBufferHandle> | null })._handle
  if (internals === undefined || typeof handle?.useUserBuffer !== 'function') return false
  const fields = socket as unknown as Record<symbol, unknown>
  fields[internals.buffer] = reads.next()
  fields[internals.callback] = reads.read
  fields[internals.next] = reads.next
  handle.useUserBuffer(reads.next())
  return true
}

/** Back to `data` events, before the socket is handed to TLS. */
export function stopOwnReadBuffers(socket: NetSocket): void {
  if (internals === undefined) return
  const fields = socket as unknown as Record<symbol, unknown>
  fields[internals.buffer] = null
  fields[internals.callback] = null
  fields[internals.next] = null
}
