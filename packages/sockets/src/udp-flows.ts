/**
 * A UDP listener's flows. UDP has no connections, so a flow stands in for
 * one: every datagram from one remote address and port, until the flow is
 * idle for `idleTimeout`. Each flow is a `Socket` whose writes go back to
 * that peer from the listener's own port.
 *
 * The table is bounded: past `maxFlows`, a datagram that would open a new
 * flow is discarded (and reported through `drop`), while existing flows keep
 * working. UDP sources are free to forge, so without a bound a flood of new
 * source ports grows the table (and the handlers it starts) without limit.
 * And since opening a flow costs far more than a datagram of an open one,
 * `newFlowsPerSecond` limits how fast new flows open, from all sources
 * together: a flood's every datagram may come from a new address.
 */

import { Attachment } from './attachment.ts'
import { DatagramTransport } from './datagram-transport.ts'
import type { FlowDropReason } from './listener.ts'
import type { DatagramChannel } from './platform.ts'

interface Flow {
  transport: DatagramTransport
  /** Traffic since the last sweep: a flag, so a datagram costs no clock read. */
  seen: boolean
  /** The sweep that last found traffic (or the flow's start). */
  lastSeen: number
}

/** How a flow table is bounded, and whom it tells. */
export interface FlowLimits {
  /** Close a flow idle this long; 0 means never. */
  idleTimeout: number
  /** Flows open at once; a datagram that would open one more is dropped. */
  maxFlows: number
  /** New flows opened per second, in bursts of up to as many; `Infinity` for no limit. */
  newFlowsPerSecond: number
  /** A new flow was refused; its datagram was discarded. */
  drop: (address: string, port: number, reason: FlowDropReason) => void
}

export class UdpFlows {
  readonly #channel: DatagramChannel
  readonly #idleTimeout: number
  readonly #maxFlows: number
  readonly #drop: FlowLimits['drop']
  readonly #rate: number
  /** New flows that may open now: a token bucket that refills at `#rate` a second. */
  #tokens: number
  #refilledAt = performance.now()
  /** Address → port → flow. */
  readonly #flows = new Map<string, Map<number, Flow>>()
  #count = 0
  readonly #accept: (attachment: Attachment) => void
  #sweeper: ReturnType<typeof setInterval> | undefined

  constructor(
    channel: DatagramChannel,
    limits: FlowLimits,
    accept: (attachment: Attachment) => void,
  ) {
    const { idleTimeout } = limits
    this.#channel = channel
    this.#idleTimeout = idleTimeout
    this.#maxFlows = limits.maxFlows
    this.#drop = limits.drop
    this.#rate = limits.newFlowsPerSecond
    this.#tokens = limits.newFlowsPerSecond
    this.#accept = accept
    if (idleTimeout > 0) {
      // One timer per listener, not one reset per datagram: flows end within
      // 1.5 × idleTimeout, which is what an idle timeout needs.
      this.#sweeper = setInterval(() => this.#sweep(), Math.max(idleTimeout / 2, 10))
      ;(this.#sweeper as { unref?: () => void }).unref?.()
    }
  }

  /** Routes one datagram to its flow, opening the flow if it is new. */
  receive(data: Uint8Array, address: string, port: number): void {
    const flow = this.#flows.get(address)?.get(port)
    if (flow !== undefined) {
      flow.seen = true
      flow.transport.deliver(data, address, port)
      return
    }
    if (this.#count >= this.#maxFlows) return this.#drop(address, port, 'max-flows')
    if (!this.#takeToken()) return this.#drop(address, port, 'rate')
    this.#accept(this.#attachment(address, port, data))
  }

  /**
   * Whether one more flow may open now. The clock is read only once the
   * bucket runs dry, and then credits all the time since the last read: the
   * bucket only drains in between, so crediting late changes nothing but a
   * burst (at most `#rate`, as the cap says).
   */
  #takeToken(): boolean {
    if (this.#rate === Number.POSITIVE_INFINITY) return true
    if (this.#tokens < 1) {
      const now = performance.now()
      this.#tokens = Math.min(
        this.#rate,
        this.#tokens + ((now - this.#refilledAt) * this.#rate) / 1000,
      )
      this.#refilledAt = now
      if (this.#tokens < 1) return false
    }
    this.#tokens--
    return true
  }

  /** Ends every flow, as when the listener closes. */
  closeAll(error: unknown): void {
    clearInterval(this.#sweeper)
    const flows = [...this.#flows.values()].flatMap((ports) => [...ports.values()])
    this.#flows.clear()
    this.#count = 0
    for (const flow of flows) flow.transport.ended(error)
  }

  #add(address: string, port: number, flow: Flow): void {
    let ports = this.#flows.get(address)
    if (ports === undefined) this.#flows.set(address, (ports = new Map()))
    ports.set(port, flow)
    this.#count++
  }

  /** Removes the flow of `address` and `port` if it is `transport`'s. */
  #remove(address: string, port: number, transport: DatagramTransport): void {
    const ports = this.#flows.get(address)
    if (ports?.get(port)?.transport !== transport) return
    ports.delete(port)
    if (ports.size === 0) this.#flows.delete(address)
    this.#count--
  }

  #attachment(address: string, port: number, first: Uint8Array): Attachment {
    const open = (
      events: Parameters<Attachment['open']>[0],
      options: Parameters<Attachment['open']>[1],
    ) => {
      const peer = { address, port }
      const transport = new DatagramTransport(
        {
          peer,
          send: (data, to, done) => {
            const flow = this.#flows.get(address)?.get(port)
            if (flow !== undefined) flow.seen = true
            if (to !== undefined && (to.address !== address || to.port !== port)) {
              throw new TypeError(
                'A UDP flow sends only to its own peer: to reach others, open new Socket({ type: "udp", local })',
              )
            }
            return this.#channel.send(data, peer, done)
          },
          info: () => ({ ...this.#channel.info(), remoteAddress: address, remotePort: port }),
          close: () => {
            this.#remove(address, port, transport)
            transport.ended(undefined)
          },
        },
        options.highWaterMark,
        events,
      )
      this.#add(address, port, { transport, seen: false, lastSeen: Date.now() })
      transport.deliver(first, address, port)
      return transport
    }
    return new Attachment('udp', open, false)
  }

  #sweep(): void {
    const now = Date.now()
    const cutoff = now - this.#idleTimeout
    const idle: Flow[] = []
    for (const [address, ports] of this.#flows) {
      for (const [port, flow] of ports) {
        if (flow.seen) {
          flow.seen = false
          flow.lastSeen = now
          continue
        }
        if (flow.lastSeen > cutoff) continue
        ports.delete(port)
        this.#count--
        idle.push(flow)
      }
      if (ports.size === 0) this.#flows.delete(address)
    }
    for (const flow of idle) flow.transport.ended(undefined)
  }
}
