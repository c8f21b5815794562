/**
 * quiche (Cloudflare's QUIC library) through the N-API binding that
 * `@matrixai/quic` ships prebuilt for each platform. We drive the binding
 * with our own lean event loop rather than through `@matrixai/quic`'s
 * classes: see docs/decisions.md ("QUIC on Node").
 */
import { createRequire } from 'node:module'
import type { Config, Connection, ConnectionError, Quiche } from '@matrixai/quic/native/index.js'
import { SocketError } from '../../../errors.ts'

export type { Config, Connection, ConnectionError }

let loaded: Quiche | undefined

/**
 * The addon, loaded on first use: importing the socket API must not load
 * native code that TCP and UDP never need (and that a sandbox may forbid).
 * `@matrixai/quic` installs the one prebuilt package for this platform.
 */
export function quiche(): Quiche {
  if (loaded !== undefined) return loaded
  const require = createRequire(import.meta.url)
  const names = [`${process.platform}-${process.arch}`, `${process.platform}-universal`]
  const errors: unknown[] = []
  for (const name of names) {
    try {
      loaded = require(`@matrixai/quic-${name}`) as Quiche
      return loaded
    } catch (error) {
      errors.push(error)
    }
  }
  const refused = errors.find((error) => refusals.has((error as { code?: unknown })?.code))
  if (refused !== undefined) {
    // A sandbox closed native addons: say so, rather than blame the install.
    throw new SocketError(
      'EACCES',
      `QUIC is not available: its engine is a native addon, and loading it was refused: ${(refused as Error).message}`,
      { cause: refused },
    )
  }
  throw new TypeError(
    `QUIC is not available: no prebuilt quiche for ${names[0]} (install @matrixai/quic with its optional dependencies)`,
    { cause: errors[0] },
  )
}

/**
 * How loading an addon is refused: sockworker's lockdown (`process.dlopen`
 * closed), and Node's permission model without `--allow-addons`.
 */
const refusals = new Set<unknown>(['ERR_ACCESS_DENIED', 'ERR_DLOPEN_DISABLED'])

/** Packet type of an Initial packet (quiche's `Type.Initial`). */
export const initialPacket = 0
/** `Shutdown.Read` and `Shutdown.Write`. */
export const shutdownRead = 0
export const shutdownWrite = 1

/** The code in quiche's "StreamReset(7)" / "StreamStopped(7)" errors, or undefined. */
export function streamErrorCode(
  error: unknown,
  kind: 'StreamReset' | 'StreamStopped',
): number | undefined {
  const message = error instanceof Error ? error.message : ''
  if (!message.startsWith(kind)) return undefined
  const code = Number(message.slice(kind.length + 1, -1))
  return Number.isFinite(code) ? code : 0
}

/** A connection's counts, in the shape `QuicConnectionChannel.stats()` returns. */
export interface ConnectionStats {
  bytesSent: number
  bytesReceived: number
  packetsSent: number
  packetsReceived: number
}

/** quiche's counts for `conn`; zeros before it exists (a client still resolving). */
export function connectionStats(conn: Connection | undefined): ConnectionStats {
  if (conn === undefined)
    return { bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0 }
  const stats = conn.stats()
  return {
    bytesSent: stats.sentBytes,
    bytesReceived: stats.recvBytes,
    packetsSent: stats.sent,
    packetsReceived: stats.recv,
  }
}
