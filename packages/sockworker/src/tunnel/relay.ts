/**
 * One tunnelled connection: a WebSocket from a client and a TCP connection
 * to the target, relaying bytes both ways (the protocol is described in
 * `tunnelWire`'s module in @sockworker/sockets).
 *
 * Backpressure holds in both directions, so a slow side costs the daemon a
 * bounded amount of memory:
 * - target → client: the TCP socket is paused while the WebSocket holds
 *   more than `highWater` unsent, or (with our protocol) while the client has
 *   more than `tunnelWire.window` bytes unacknowledged;
 * - client → target: the WebSocket stops reading while the TCP socket's
 *   `write()` says its buffer is full, until it drains.
 */
import { connect } from 'node:net'
import { toSocketError, tunnelCloseReason, tunnelWire } from '@sockworker/sockets/node'
import type { RawData, WebSocket } from 'ws'

/** The largest amount the WebSocket may hold unsent before the target is paused. */
const highWater = 1 << 20
const lowWater = highWater / 4

export interface RelayTarget {
  hostname: string
  port: number
  /** As "db:5432", for messages. */
  label: string
}

/** How a relay ended. */
export interface RelayResult {
  /** Bytes from the client to the target. */
  toTarget: number
  /** Bytes from the target to the client. */
  fromTarget: number
  /** Why it failed, as "ECONNREFUSED: Cannot connect to db:5432 ...". */
  error: string | undefined
}

export interface Relay {
  /** Ends the connection because the daemon is stopping (close 1001). */
  shutdown(): void
  /** Resolves once both sides are closed. */
  done: Promise<RelayResult>
}

/**
 * Connects to `target` and relays `ws` to it until either side closes.
 *
 * @example
 * const relay = startRelay(ws, { hostname: 'db', port: 5432, label: 'db:5432' })
 * const { toTarget, fromTarget, error } = await relay.done
 */
export function startRelay(ws: WebSocket, target: RelayTarget): Relay {
  const framed = ws.protocol === tunnelWire.protocol
  const tcp = connect({ host: target.hostname, port: target.port, allowHalfOpen: true })
  tcp.setNoDelay(true)
  const result: RelayResult = { toTarget: 0, fromTarget: 0, error: undefined }
  const finished = Promise.withResolvers<RelayResult>()
  let connected = false
  let unacked = 0
  let targetPaused = false
  let clientPaused = false

  const resumeTarget = () => {
    if (!targetPaused || ws.bufferedAmount > lowWater || unacked > tunnelWire.window) return
    targetPaused = false
    tcp.resume()
  }
  const fail = (error: unknown) => {
    const failure = toSocketError(
      error,
      connected ? `talk to ${target.label}` : `connect to ${target.label}`,
    )
    result.error ??= `${failure.code}: ${failure.message}`
    ws.close(tunnelWire.closeDaemonError, tunnelCloseReason(failure.code, failure.message))
    tcp.destroy()
  }

  tcp.on('connect', () => {
    connected = true
    if (framed) ws.send(tunnelWire.open)
  })
  tcp.on('data', (chunk: Buffer) => {
    // Closing: nobody will read it, and the TCP socket is about to go.
    if (ws.readyState !== ws.OPEN) return
    result.fromTarget += chunk.byteLength
    if (framed) unacked += chunk.byteLength
    ws.send(chunk, resumeTarget)
    if (ws.bufferedAmount > highWater || unacked > tunnelWire.window) {
      targetPaused = true
      tcp.pause()
    }
  })
  tcp.on('end', () => {
    if (framed) ws.send(tunnelWire.end)
    else ws.close(tunnelWire.closeNormal)
  })
  tcp.on('error', fail)
  // Both directions ended (or it failed): the WebSocket has nothing more to carry.
  tcp.on('close', () => ws.close(tunnelWire.closeNormal))

  ws.on('message', (data: RawData, isBinary: boolean) => {
    const bytes = data as Buffer
    if (framed && !isBinary) return onControl(bytes.toString())
    result.toTarget += bytes.byteLength
    if (tcp.write(bytes) || clientPaused) return
    clientPaused = true
    ws.pause()
    tcp.once('drain', () => {
      clientPaused = false
      ws.resume()
    })
  })
  const onControl = (message: string) => {
    if (message === tunnelWire.end) tcp.end()
    else if (message.startsWith(tunnelWire.ack)) {
      const bytes = Number(message.slice(tunnelWire.ack.length))
      if (Number.isSafeInteger(bytes) && bytes > 0) unacked = Math.max(0, unacked - bytes)
      resumeTarget()
    }
  }
  ws.on('close', (code: number) => {
    // A clean close (1000, or 1005 from a client that gave no code) lets
    // what the client wrote reach the target; anything else aborts.
    if ((code === 1000 || code === 1005) && !tcp.destroyed) tcp.end(() => tcp.destroy())
    else tcp.destroy()
    if (tcp.closed) finished.resolve(result)
    else tcp.once('close', () => finished.resolve(result))
  })
  ws.on('error', (error: Error) => {
    result.error ??= `ECONNRESET: ${error.message}`
  })

  return {
    shutdown() {
      ws.close(tunnelWire.closeGoingAway, 'The tunnel is shutting down')
      tcp.destroy()
    },
    done: finished.promise,
  }
}
