/**
 * A growing byte buffer for DNS messages, big-endian, that compresses names
 * (RFC 1035 section 4.1.4): a name whose ending was written before becomes
 * a two-byte pointer to it.
 *
 * @example
 * const out = new Writer()
 * out.name([www, example, test]) // 18 bytes
 * out.name([mail, example, test]) // 7 bytes: "mail" and a pointer to "example.test"
 */
export class Writer {
  #bytes = new Uint8Array(512)
  #view = new DataView(this.#bytes.buffer)
  #names = new Map<string, number>()
  length = 0

  u8(value: number): void {
    this.#room(1)
    this.#bytes[this.length++] = value
  }

  u16(value: number): void {
    this.#room(2)
    this.#view.setUint16(this.length, value)
    this.length += 2
  }

  u32(value: number): void {
    this.#room(4)
    this.#view.setUint32(this.length, value)
    this.length += 4
  }

  patch16(at: number, value: number): void {
    this.#view.setUint16(at, value)
  }

  bytes(data: Uint8Array): void {
    this.#room(data.length)
    this.#bytes.set(data, this.length)
    this.length += data.length
  }

  /** Writes a name, pointing at an earlier copy of its longest known suffix. */
  name(labels: Uint8Array[]): void {
    for (let i = 0; i < labels.length; i++) {
      // Length-prefixed, so that a label holding a dot cannot pass for two labels.
      const key = labels
        .slice(i)
        .map((label) => `${label.length}:${String.fromCharCode(...label).toLowerCase()}`)
        .join('')
      const earlier = this.#names.get(key)
      if (earlier !== undefined) {
        this.u16(0xc000 | earlier)
        return
      }
      // Pointers have 14 bits: names past 16 KiB are written in full.
      if (this.length < 0x4000) this.#names.set(key, this.length)
      this.u8(labels[i]!.length)
      this.bytes(labels[i]!)
    }
    this.u8(0)
  }

  result(): Uint8Array {
    return this.#bytes.slice(0, this.length)
  }

  #room(extra: number): void {
    if (this.length + extra <= this.#bytes.length) return
    const bigger = new Uint8Array(Math.max(this.#bytes.length * 2, this.length + extra))
    bigger.set(this.#bytes)
    this.#bytes = bigger
    this.#view = new DataView(bigger.buffer)
  }
}
