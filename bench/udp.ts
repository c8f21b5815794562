/**
 * UDP: 512-byte datagrams per second, from a connected client socket to a
 * receiver, counted as received.
 *
 * Blasting N datagrams from the same process would mostly measure how long the
 * sender starves the receiver of the event loop: the kernel's receive buffer
 * overflows and the figure swings with scheduling. So the sender paces itself
 * with a window instead: each datagram carries a sequence number, the receiver
 * acknowledges the highest number seen every 16 datagrams, and the sender keeps
 * at most 64 beyond the last acknowledged one in flight (about 80 KiB of
 * kernel buffer, well under the default). A lost datagram does not stall the
 * window, since later ones move it on; a lost acknowledgement does, so a
 * watchdog reopens a window that made no progress for 50 ms (counted as a
 * stall). The figure is datagrams received per second, from the first send to
 * the last receipt; the loss is reported beside it.
 */
import dgram from 'node:dgram'
import { once } from 'node:events'
import { Socket } from '@sockworker/sockets'
import {
  aborted,
  HOST,
  ignore,
  listenForOne,
  type Measurement,
  type RunOptions,
  resources,
  shut,
} from './common.ts'

export const name = 'udp'
export const figure = 'UDP, 512 B datagrams received'
export const unit = 'dgram/s'
export const target = 0.9

const SIZE = 512
const WINDOW = 64
const ACK_EVERY = 16
const STALL_MS = 50
const QUIET_MS = 100

function datagrams(quick: boolean): number {
  return quick ? 10_000 : 100_000
}

/** The sender's side of the window, and the receiver's count, for one run. */
class Pacing {
  readonly total: number
  /** Every sequence number below this one is acknowledged, or given up on. */
  acked = 0
  sent = 0
  stalls = 0
  received = 0
  highest = -1
  lastReceived = 0
  readonly finished = Promise.withResolvers<void>()
  #waiter: PromiseWithResolvers<void> | undefined
  #ackedAtLastCheck = -1
  #sending = true
  #timer: NodeJS.Timeout

  constructor(total: number) {
    this.total = total
    this.finished.promise.catch(ignore)
    this.#timer = setInterval(() => this.#check(), STALL_MS)
  }

  /** Whether `seq` may go out now; if not, await `room()`. */
  fits(seq: number): boolean {
    return seq < this.acked + WINDOW
  }

  async room(seq: number): Promise<void> {
    while (!this.fits(seq)) {
      this.#waiter = Promise.withResolvers()
      await this.#waiter.promise
    }
  }

  doneSending(): void {
    this.#sending = false
  }

  onAck(ack: Uint8Array): void {
    const next = readSeq(ack) + 1
    if (next <= this.acked) return
    this.acked = next
    this.#release()
  }

  /** Count one datagram; returns the acknowledgement to send back, if one is due. */
  onData(data: Uint8Array): Uint8Array | undefined {
    const seq = readSeq(data)
    this.received++
    this.lastReceived = performance.now()
    if (seq > this.highest) this.highest = seq
    if (this.received === this.total || seq === this.total - 1) this.#finish()
    if (this.received % ACK_EVERY !== 0) return undefined
    const ack = new Uint8Array(4)
    writeSeq(ack, this.highest)
    return ack
  }

  result(start: number): Measurement {
    const seconds = (this.lastReceived - start) / 1000
    const lossPct = (100 * (this.total - this.received)) / this.total
    return { value: this.received / seconds, seconds, extra: { lossPct, stalls: this.stalls } }
  }

  [Symbol.dispose](): void {
    clearInterval(this.#timer)
  }

  #release(): void {
    const waiter = this.#waiter
    this.#waiter = undefined
    waiter?.resolve()
  }

  #finish(): void {
    clearInterval(this.#timer)
    this.finished.resolve()
  }

  #check(): void {
    if (this.#sending) {
      if (this.#waiter && this.acked === this.#ackedAtLastCheck) {
        this.stalls++
        this.acked = this.sent
        this.#release()
      }
      this.#ackedAtLastCheck = this.acked
    } else if (performance.now() - this.lastReceived > QUIET_MS) {
      this.#finish()
    }
  }
}

function readSeq(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true)
}

function writeSeq(bytes: Uint8Array, seq: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(0, seq, true)
}

function datagram(seq: number): Uint8Array {
  const data = new Uint8Array(SIZE)
  writeSeq(data, seq)
  return data
}

export async function baseline({ quick, signal }: RunOptions): Promise<Measurement> {
  await using res = resources(signal)
  using pacing = new Pacing(datagrams(quick))
  const receiver = dgram.createSocket('udp4')
  res.defer(() => new Promise<void>((resolve) => receiver.close(() => resolve())))
  receiver.on('error', pacing.finished.reject)
  receiver.on('message', (msg, rinfo) => {
    const ack = pacing.onData(msg)
    if (ack) receiver.send(ack, rinfo.port, rinfo.address)
  })
  receiver.bind(0, HOST)
  await once(receiver, 'listening')

  const sender = dgram.createSocket('udp4')
  res.defer(() => new Promise<void>((resolve) => sender.close(() => resolve())))
  sender.on('error', pacing.finished.reject)
  sender.on('message', (msg) => pacing.onAck(msg))
  sender.connect(receiver.address().port, HOST)
  await once(sender, 'connect')

  const start = performance.now()
  for (let seq = 0; seq < pacing.total; seq++) {
    if (!pacing.fits(seq)) await pacing.room(seq)
    sender.send(datagram(seq))
    pacing.sent = seq + 1
  }
  pacing.doneSending()
  await Promise.race([pacing.finished.promise, aborted(signal)])
  return pacing.result(start)
}

export async function ours({ quick, signal }: RunOptions): Promise<Measurement> {
  await using res = resources(signal)
  using pacing = new Pacing(datagrams(quick))
  const fail = (error: unknown): void => pacing.finished.reject(error)
  const { port, first } = await listenForOne(res, signal, 'udp')
  let dropped = 0

  void (async () => {
    const flow = await first
    res.defer(() => {
      dropped = flow.stats.packetsDropped
    })
    const reader = flow.readable.getReader()
    const writer = flow.writable.getWriter()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      const ack = pacing.onData(value.data)
      if (ack) writer.write(ack).catch(fail)
    }
  })().catch(fail)

  const sender = new Socket({ type: 'udp', remote: { address: HOST, port } })
  res.defer(shut(sender, signal))
  await sender.opened
  void (async () => {
    const reader = sender.readable.getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      pacing.onAck(value.data)
    }
  })().catch(fail)

  const writer = sender.writable.getWriter()
  const start = performance.now()
  for (let seq = 0; seq < pacing.total; seq++) {
    if (!pacing.fits(seq)) await pacing.room(seq)
    await writer.ready
    writer.write(datagram(seq)).catch(fail)
    pacing.sent = seq + 1
  }
  pacing.doneSending()
  await Promise.race([pacing.finished.promise, aborted(signal)])
  const measured = pacing.result(start)
  await res.disposeAsync()
  return { ...measured, extra: { ...measured.extra, dropped } }
}
