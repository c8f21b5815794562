/**
 * Why a tunnelled connection failed, as a `SocketError`. A WebSocket reports
 * a refused upgrade and an unreachable daemon the same way (close code 1006,
 * nothing else), so a failed upgrade is diagnosed with one plain HTTP request
 * to the daemon, which answers 401 for a bad token and 426 otherwise.
 */
import { SocketError, type SocketErrorCode } from '../errors.ts'
import type { TunnelVia } from '../types.ts'
import { parseCloseReason, tunnelWire } from './wire.ts'

/** Codes the daemon may put in a close reason (from the target's side). */
const relayedCodes: ReadonlySet<string> = new Set<SocketErrorCode>([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EACCES',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ERR_SOCKET_CLOSED',
  'ERR_SOCKET',
])

/** Codes of a failed `fetch()` (its `cause.code` on Node) that say why the daemon is out of reach. */
const reachCodes: Readonly<Record<string, SocketErrorCode>> = {
  ECONNREFUSED: 'ECONNREFUSED',
  ECONNRESET: 'ECONNRESET',
  ETIMEDOUT: 'ETIMEDOUT',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  ENOTFOUND: 'ENOTFOUND',
  EAI_AGAIN: 'ENOTFOUND',
  EHOSTUNREACH: 'EHOSTUNREACH',
  ENETUNREACH: 'ENETUNREACH',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'ERR_TLS_CERT',
  SELF_SIGNED_CERT_IN_CHAIN: 'ERR_TLS_CERT',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'ERR_TLS_CERT',
  ERR_TLS_CERT_ALTNAME_INVALID: 'ERR_TLS_CERT',
  CERT_HAS_EXPIRED: 'ERR_TLS_CERT',
}

/** What a failure message names: the target and the tunnel it went through. */
export interface TunnelRoute {
  /** The target, as "db:5432". */
  target: string
  via: TunnelVia
}

/** The tunnel's address for messages: no credentials, no query. */
export function describeTunnel(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`
  } catch {
    return url
  }
}

/**
 * The error a close frame reports, or `undefined` for a clean close.
 * `wasOpen`: the target had accepted the connection.
 */
export function closeFailure(
  route: TunnelRoute,
  code: number,
  reason: string,
  wasOpen: boolean,
): SocketError | undefined {
  const tunnel = describeTunnel(route.via.url)
  const action = wasOpen ? `talk to ${route.target}` : `connect to ${route.target}`
  if (code === tunnelWire.closeNormal && wasOpen) return undefined
  const relayed = parseCloseReason(reason)
  if (relayed !== undefined) {
    const known = relayedCodes.has(relayed.code)
    return new SocketError(
      known ? (relayed.code as SocketErrorCode) : 'ERR_SOCKET',
      `${relayed.message} (through the tunnel ${tunnel})`,
    )
  }
  const why =
    code === tunnelWire.closeGoingAway
      ? 'the tunnel shut down'
      : code === 1006
        ? 'the connection to the tunnel was lost'
        : `the tunnel closed the connection (WebSocket close ${code}${reason ? `: ${reason}` : ''})`
  return new SocketError('ECONNRESET', `Cannot ${action} through the tunnel ${tunnel}: ${why}`)
}

/**
 * Asks the daemon why it refused a WebSocket upgrade. Never rejects.
 *
 * @example
 * const error = await diagnoseRefusal({ target: 'db:5432', via }) // code ERR_TUNNEL_AUTH for a bad token
 */
export async function diagnoseRefusal(route: TunnelRoute): Promise<SocketError> {
  const { via, target } = route
  const tunnel = describeTunnel(via.url)
  const prefix = `Cannot connect to ${target} through the tunnel ${tunnel}`
  const headers: Record<string, string> =
    via.token === undefined ? {} : { authorization: `Bearer ${via.token}` }
  let status: number
  try {
    const response = await fetch(via.url.replace(/^ws/, 'http'), {
      headers,
      // The token must not follow a redirect to another host.
      redirect: 'manual',
      signal: AbortSignal.timeout(5000),
    })
    status = response.status
    await response.body?.cancel()
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause
    const code = typeof cause?.code === 'string' ? cause.code : undefined
    const detail = code ?? (error instanceof Error ? error.message : String(error))
    const mapped = (code && reachCodes[code]) || 'ECONNREFUSED'
    const why =
      mapped === 'ERR_TLS_CERT'
        ? `the tunnel's TLS certificate was rejected (${detail}); make this runtime trust its CA`
        : `cannot reach the tunnel (${detail})`
    return new SocketError(mapped, `${prefix}: ${why}`, { cause: error })
  }
  if (status === 401 || status === 403) {
    return new SocketError(
      'ERR_TUNNEL_AUTH',
      via.token === undefined
        ? `${prefix}: the tunnel needs a token (HTTP ${status}); pass via.token`
        : `${prefix}: the tunnel refused the token (HTTP ${status}); check via.token against the daemon's --token-file`,
    )
  }
  return new SocketError(
    'ERR_SOCKET',
    `${prefix}: the WebSocket upgrade was refused (HTTP ${status}); is this a "sockworker tunnel serve" address?`,
  )
}
