/**
 * Turns a validated config (snake_case keys, file references) into the
 * `ResolvedConfig` the runtime uses (camelCase, PEM text, secret values).
 * Runs only when validation and every file read have succeeded.
 */
import type { CheckedListener } from './listener.ts'
import type { CheckedConfig, CheckedWorker } from './schema.ts'
import type {
  ListenerConfig,
  ListenerTls,
  ResolvedConfig,
  StorageBinding,
  WorkerConfig,
} from './types.ts'

/** Flows per UDP listener per replica, the same order as `max_connections`' default. */
export const DEFAULT_MAX_FLOWS = 10_000
/**
 * New UDP flows a listener opens per second in each replica. Opening a flow
 * (a Socket, its streams, a handler run) costs far more than a datagram of
 * an open flow: unlimited, a flood of new sources kept the replicas behind
 * while their tables filled, and the kernel dropped existing flows'
 * datagrams with the flood's. On the 2-core benchmark machine 500 a second
 * kept the existing client whole and 2000 cost it 6 pings of 893
 * (docs/benchmarks.md, "Overload"). The default is 2000: a DNS-like
 * service, whose every request is a new flow, must not lose requests at a
 * few hundred a second out of the box; an operator under a flood lowers it.
 */
export const DEFAULT_NEW_FLOWS_PER_SECOND = 2000

/**
 * @example
 * if (issues.length === 0) return { ok: true, config: resolveConfig(checked) }
 */
export function resolveConfig(checked: CheckedConfig): ResolvedConfig {
  const listen = checked.metrics.listen
  return {
    log: { format: checked.log.format, level: checked.log.level },
    metrics: listen === undefined ? undefined : { hostname: listen.hostname, port: listen.port },
    drain: { delayMs: checked.drain.delay_ms },
    workers: checked.workers.map(resolveWorker),
  }
}

function resolveWorker(worker: CheckedWorker): WorkerConfig {
  const { limits } = worker
  const idleTimeoutMs = limits.idle_timeout_ms
  const secrets = Object.fromEntries(
    Object.entries(worker.secrets).map(([name, ref]) => [
      name,
      'path' in ref ? trimFinalNewline(ref.text) : ref.text,
    ]),
  )
  return {
    name: worker.name,
    script: worker.script,
    replicas: worker.replicas,
    compatibility: worker.compatibility,
    vars: { ...worker.vars },
    secrets,
    limits: {
      memoryMb: limits.memory_mb,
      cpuMs: limits.cpu_ms,
      maxConnections: limits.max_connections,
      handshakeTimeoutMs: limits.handshake_timeout_ms,
      headerTimeoutMs: limits.header_timeout_ms,
      idleTimeoutMs,
      drainTimeoutMs: limits.drain_timeout_ms,
    },
    egress: { allow: worker.egress.allow, deny: worker.egress.deny },
    storage: resolveStorage(worker.storage, secrets),
    tunnels: worker.tunnels.map(({ target, url, token_file }) =>
      token_file === undefined
        ? { target, url }
        : { target, url, token: trimFinalNewline(token_file.text) },
    ),
    listeners: worker.listeners.map((listener) => resolveListener(listener, idleTimeoutMs)),
    sandbox: {
      allow: [...new Set(worker.sandbox.allow)],
      user: worker.sandbox.user,
      read: [...new Set(worker.sandbox.read)],
    },
  }
}

/** Storage bindings, each `password_secret` replaced by the secret's value. */
function resolveStorage(
  storage: CheckedWorker['storage'],
  secrets: Record<string, string>,
): Record<string, StorageBinding> {
  return Object.fromEntries(
    Object.entries(storage).map(([name, spec]): [string, StorageBinding] => {
      if ('path' in spec) return [name, { path: spec.path }]
      const password = spec.password_secret && secrets[spec.password_secret]
      const binding: StorageBinding = {
        url: spec.url,
        namespace: spec.namespace,
        timeoutMs: spec.timeout_ms,
      }
      if (password) binding.password = password
      return [name, binding]
    }),
  )
}

function resolveListener(listener: CheckedListener, connectionIdleMs: number): ListenerConfig {
  const out: ListenerConfig = {
    type: listener.type,
    hostname: listener.address.hostname,
    port: listener.address.port,
    proxyProtocol: listener.proxy_protocol ?? 'off',
    allowHalfOpen: listener.allow_half_open ?? false,
    idleTimeoutMs:
      listener.type === 'udp' ? (listener.idle_timeout_ms ?? 30_000) : connectionIdleMs,
  }
  if (listener.type === 'udp') {
    out.maxFlows = listener.max_flows ?? DEFAULT_MAX_FLOWS
    out.newFlowsPerSecond = listener.new_flows_per_second ?? DEFAULT_NEW_FLOWS_PER_SECOND
  }
  const tls = resolveTls(listener)
  if (tls !== undefined) out.tls = tls
  return out
}

function resolveTls(listener: CheckedListener): ListenerTls | undefined {
  const sni = Object.entries(listener.sni ?? {}).map(
    ([host, entry]) => [host, { cert: entry.cert.text, key: entry.key.text }] as const,
  )
  // With only SNI entries, the first one also answers clients that send no
  // server name (as nginx's first server block does): a handshake needs a certificate.
  const fallback = sni[0]?.[1]
  const cert = listener.cert?.text ?? fallback?.cert
  const key = listener.key?.text ?? fallback?.key
  if (cert === undefined || key === undefined) return undefined
  const tls: ListenerTls = { cert, key }
  if (sni.length > 0) tls.sni = Object.fromEntries(sni)
  if (listener.alpn !== undefined) tls.alpn = listener.alpn
  return tls
}

/** Secret files usually end with a newline that is not part of the secret (as `echo x > f` writes). */
function trimFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '')
}
