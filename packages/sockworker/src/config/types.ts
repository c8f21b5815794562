/**
 * The resolved configuration of `sockworker serve`: validated, with defaults
 * applied, paths made absolute, and certificates and secrets read. Nothing
 * downstream of the config layer touches the TOML file or its snake_case keys.
 */
import type { ConfigIssue } from './errors.ts'

/** Everything `sockworker serve` needs to start. */
export interface ResolvedConfig {
  log: LogConfig
  /** Where to serve Prometheus `/metrics`; `undefined` when `[metrics] listen` is absent. */
  metrics: { hostname: string; port: number } | undefined
  /**
   * On SIGTERM or SIGINT, `/healthz` says `draining` at once, and the
   * listeners keep accepting for `delayMs` (default 0) before the workers
   * drain, so that a load balancer or Kubernetes takes the instance out of
   * rotation first. Set it above the balancer's check interval × fall count.
   */
  drain: { delayMs: number }
  workers: WorkerConfig[]
}

export interface LogConfig {
  /** Default `json` (for `serve`). */
  format: 'json' | 'pretty'
  /** Default `info`. */
  level: 'debug' | 'info' | 'warn' | 'error'
}

/** One worker: a script run in its own processes, with its listeners. */
export interface WorkerConfig {
  /** Unique; letters, digits, `_` and `-`. */
  name: string
  /** Absolute path of the worker module. */
  script: string
  /** Processes to run, 1 to 256; default 1. */
  replicas: number
  /**
   * `workerd` (default): the worker sees `navigator.userAgent` as
   * "Cloudflare-Workers", as in workerd, so drivers with a Workers build
   * (pg's pg-cloudflare path) take it, over our sockets. `node`: the worker
   * sees Node's own user agent, and such drivers take their Node.js path.
   */
  compatibility: 'workerd' | 'node'
  /** Plain values for `env`; numbers and booleans become strings. */
  vars: Record<string, string>
  /** Resolved secret values for `env` (from environment variables or files). */
  secrets: Record<string, string>
  limits: WorkerLimits
  egress: EgressRules
  /** Storage bindings on `env`, by name. Default: none. */
  storage: Record<string, StorageBinding>
  /** Targets reached through a sockworker tunnel; default none. */
  tunnels: TunnelRoute[]
  listeners: ListenerConfig[]
  /**
   * The sandbox of `serve` (`[workers.sandbox]`); `undefined` under `dev`,
   * which runs workers without one. See docs/security.md.
   */
  sandbox: SandboxConfig | undefined
}

/** What a worker may do beyond the sandbox's defaults, and whom it runs as. */
export interface SandboxConfig {
  /** Capabilities refused unless named here; default none. */
  allow: SandboxCapability[]
  /** The account replicas run as when `serve` starts as root; default `nobody`. */
  user: SandboxUser
  /**
   * Absolute folders the worker may read besides its own, e.g. code it
   * shares with another worker; default none.
   */
  read: string[]
}

export type SandboxCapability = 'child_process' | 'worker_threads' | 'addons' | 'wasi' | 'quic'

export interface SandboxUser {
  /** As written in the config ("nobody", "1001:1001"). */
  name: string
  uid: number
  gid: number
}

/**
 * A storage binding: an SQLite file (absolute path), or a Redis or
 * PostgreSQL server. Mirrors `StorageBindingSpec` in `storage/bindings.ts`.
 */
export type StorageBinding =
  | { path: string }
  | {
      /** `redis://`, `rediss://`, `postgres://` or `postgresql://`. */
      url: string
      /** From `password_secret`; overrides any password in `url`. */
      password?: string
      /** Redis key prefix `{namespace}:`, PostgreSQL table `namespace_kv`. Default `sockworker`. */
      namespace: string
      /** Longest an operation may wait for the server, in ms. Default 5000. */
      timeoutMs: number
    }

/** Connections to `target` ("host:port") go through the tunnel at `url`. */
export interface TunnelRoute {
  target: string
  url: string
  /** Read from `token_file`, without its final newline. */
  token?: string
}

export interface WorkerLimits {
  /** V8 heap cap per replica, in MiB; default 256. */
  memoryMb: number
  /** Longest the event loop may stay blocked before the replica is restarted; default 2000. */
  cpuMs: number
  /**
   * Connections per replica (TCP, TLS, QUIC, HTTP), counting those still in
   * their PROXY header or TLS handshake; not UDP flows (`maxFlows`); default 10000.
   */
  maxConnections: number
  /** Longest a TLS handshake may take before the connection is closed; default 10000. */
  handshakeTimeoutMs: number
  /** Longest a PROXY protocol header or an HTTP request head may take to arrive; default 10000. */
  headerTimeoutMs: number
  /** Per connection; 0 means never; default 300000. */
  idleTimeoutMs: number
  /** How long open connections may finish on reload or shutdown; default 30000. */
  drainTimeoutMs: number
}

/** Egress rule strings, as written; the egress module parses them. */
export interface EgressRules {
  allow: string[]
  deny: string[]
}

export type ListenerType = 'tcp' | 'tls' | 'udp' | 'quic' | 'http'
export type ProxyProtocol = 'off' | 'v1' | 'v2' | 'any'

export interface ListenerConfig {
  type: ListenerType
  hostname: string
  /** 0 asks the system for a free port. */
  port: number
  /**
   * Certificates as PEM text. Present for `tls` listeners, and for `tcp`
   * listeners that allow StartTLS. When the config gives only `sni`, the first
   * SNI entry's certificate is also the default one.
   */
  tls?: ListenerTls
  /** Default `off`; always `off` for `udp` and `http`. */
  proxyProtocol: ProxyProtocol
  /**
   * `tcp`/`tls`: keep the socket's writable open after the client ends its
   * side, for proxies and protocols that half-close. Default `false`, as in
   * workerd: the end of input closes the writable too.
   */
  allowHalfOpen: boolean
  /**
   * For `udp`: the flow idle timeout (default 30000). For the others: the
   * worker's per-connection `limits.idleTimeoutMs`, so the listener carries
   * the timeout that applies to it either way.
   */
  idleTimeoutMs: number
  /** For `udp`: flows open at once per replica; a new peer past it is dropped. Default 10000. */
  maxFlows?: number
  /** For `udp`: new flows opened per second per replica, in bursts of as many. Default 500. */
  newFlowsPerSecond?: number
}

export interface ListenerTls {
  cert: string
  key: string
  /** Certificates chosen by the client's server name; keys may be `*.example.com`. */
  sni?: Record<string, { cert: string; key: string }>
  alpn?: string[]
}

/** The outcome of `loadConfig`: a user's mistake is a result, not an exception. */
export type LoadResult = { ok: true; config: ResolvedConfig } | { ok: false; errors: ConfigIssue[] }

/** Options of `loadConfig`. */
export interface LoadOptions {
  /**
   * Egress rules for a worker whose `[workers.egress]` leaves `allow` or
   * `deny` out. Default: `{ allow: ['public'], deny: [] }`, the `serve` policy.
   */
  egressDefault?: { allow?: readonly string[]; deny?: readonly string[] }
  /**
   * Checks one egress rule string; returns what is wrong with it, or
   * `undefined`. Default: any non-empty string passes (the egress module
   * plugs its parser in here).
   */
  checkEgressRule?: (rule: string) => string | undefined
  /** Where `{ env = "NAME" }` secrets are looked up. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>
}
