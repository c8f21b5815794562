/** QUIC transport options, checked once and resolved with their defaults. */
import { checkDuration } from '../options.ts'
import type { QuicParams } from './platform.ts'
import type { QuicTransportOptions } from './types.ts'

function checkCount(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 2 ** 48) {
    throw new RangeError(
      `Invalid ${name} ${JSON.stringify(value)}: expected a whole number from ${min}`,
    )
  }
  return value
}

/**
 * @example
 * resolveQuicParams({}).idleTimeout // 30000
 */
export function resolveQuicParams(options: QuicTransportOptions): QuicParams {
  const idleTimeout = checkDuration(options.idleTimeout, 'idleTimeout', 30_000)
  const keepAlive = options.keepAlive
  let every: number | false = false
  if (keepAlive === true) every = Math.max(1, Math.floor((idleTimeout || 30_000) / 2))
  else if (keepAlive !== undefined && keepAlive !== false) {
    every = checkDuration(keepAlive, 'keepAlive', 0)
    if (every === 0) every = false
  }
  return {
    idleTimeout,
    keepAlive: every,
    maxBidirectionalStreams: checkCount(
      options.maxBidirectionalStreams,
      'maxBidirectionalStreams',
      100,
      0,
    ),
    maxUnidirectionalStreams: checkCount(
      options.maxUnidirectionalStreams,
      'maxUnidirectionalStreams',
      100,
      0,
    ),
    streamWindow: checkCount(options.streamWindow, 'streamWindow', 256 * 1024, 1024),
    connectionWindow: checkCount(
      options.connectionWindow,
      'connectionWindow',
      4 * 1024 * 1024,
      1024,
    ),
    datagramQueue: checkCount(options.datagramQueue, 'datagramQueue', 1024, 1),
  }
}

/** Checks a close code and reason as `close()` takes them. */
export function checkCloseInfo(info: unknown): { closeCode: number; reason: string } {
  if (info === undefined) return { closeCode: 0, reason: '' }
  if (typeof info !== 'object' || info === null) {
    throw new TypeError('Invalid close info: expected { closeCode, reason }')
  }
  const { closeCode = 0, reason = '' } = info as { closeCode?: unknown; reason?: unknown }
  if (
    typeof closeCode !== 'number' ||
    !Number.isInteger(closeCode) ||
    closeCode < 0 ||
    closeCode > 2 ** 32 - 1
  ) {
    throw new RangeError(
      `Invalid closeCode ${JSON.stringify(closeCode)}: expected a whole number from 0 to ${2 ** 32 - 1}`,
    )
  }
  if (typeof reason !== 'string') {
    throw new TypeError(`Invalid close reason ${JSON.stringify(reason)}: expected a string`)
  }
  if (new TextEncoder().encode(reason).byteLength > 1024) {
    throw new RangeError('Invalid close reason: at most 1024 bytes of UTF-8')
  }
  return { closeCode, reason }
}
