/** Turns `--tcp 7000`, `--udp 0.0.0.0:53` and friends into listener configs. */
import { readFileSync } from 'node:fs'
import { type ListenAddress, parseListenAddress } from '../config/address.ts'
import { DEFAULT_MAX_FLOWS, DEFAULT_NEW_FLOWS_PER_SECOND } from '../config/resolve.ts'
import type { ListenerConfig, ListenerType } from '../config/types.ts'
import { UsageError } from './usage.ts'

export interface ListenerFlags {
  tcp: string[]
  tls: string[]
  udp: string[]
  quic: string[]
  alpn: string[]
  http: string[]
  cert: string | undefined
  key: string | undefined
  'allow-half-open': boolean | undefined
}

const flowIdleMs = 30_000

export function listenersFromFlags(flags: ListenerFlags, idleTimeoutMs: number): ListenerConfig[] {
  const tls = readTls(flags)
  if (flags.tls.length > 0 && tls === undefined) {
    throw new UsageError('--tls needs --cert FILE and --key FILE')
  }
  if (flags.quic.length > 0 && (tls === undefined || flags.alpn.length === 0)) {
    throw new UsageError('--quic needs --cert FILE, --key FILE and --alpn PROTO')
  }
  const alpn = flags.alpn.length > 0 ? { alpn: flags.alpn } : {}
  const make = (type: ListenerType, value: string): ListenerConfig => {
    const { hostname, port } = listenAddressFlag(value, `--${type}`)
    const listener: ListenerConfig = {
      type,
      hostname,
      port,
      proxyProtocol: 'off',
      allowHalfOpen: (type === 'tcp' || type === 'tls') && flags['allow-half-open'] === true,
      idleTimeoutMs: type === 'udp' ? flowIdleMs : idleTimeoutMs,
    }
    if (type === 'udp') {
      listener.maxFlows = DEFAULT_MAX_FLOWS
      listener.newFlowsPerSecond = DEFAULT_NEW_FLOWS_PER_SECOND
    }
    if (tls !== undefined && (type === 'tls' || type === 'tcp')) listener.tls = { ...tls, ...alpn }
    if (tls !== undefined && type === 'quic') listener.tls = { ...tls, ...alpn }
    return listener
  }
  const all = [
    ...flags.tcp.map((v) => make('tcp', v)),
    ...flags.tls.map((v) => make('tls', v)),
    ...flags.udp.map((v) => make('udp', v)),
    ...flags.quic.map((v) => make('quic', v)),
    ...flags.http.map((v) => make('http', v)),
  ]
  if (all.length === 0)
    throw new UsageError('Give at least one listener: --tcp, --tls, --udp, --quic or --http')
  return all
}

/** `[host:]port`; the host defaults to 127.0.0.1. */
export function listenAddressFlag(value: string, flag: string): ListenAddress {
  const parsed = parseListenAddress(value)
  if (parsed.ok) return parsed.value
  throw new UsageError(`${flag} "${value}": ${parsed.reason}`)
}

function readTls(flags: ListenerFlags): ListenerConfig['tls'] {
  if (flags.cert === undefined && flags.key === undefined) return undefined
  if (flags.cert === undefined || flags.key === undefined)
    throw new UsageError('--cert and --key go together')
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file, 'utf8')
    } catch (error) {
      throw new UsageError(`${flag} "${file}": ${(error as Error).message}`)
    }
  }
  return { cert: read(flags.cert, '--cert'), key: read(flags.key, '--key') }
}
