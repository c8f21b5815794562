/**
 * The slice of Bun's socket API this adapter uses, declared here rather than
 * through `bun-types`, whose globals would clash with `@types/node` in the
 * rest of the repository. Checked against Bun 1.4.4; only what we call is
 * typed.
 */

/** The TLS options of `Bun.connect`, `Bun.listen` and `upgradeTLS`. */
export interface BunTlsOptions {
  ca?: string | Uint8Array | Array<string | Uint8Array>
  cert?: string | Uint8Array
  key?: string | Uint8Array
  /** Client: SNI and the name the certificate is checked against. Server: the SNI entry's name. */
  serverName?: string
  rejectUnauthorized?: boolean
  requestCert?: boolean
  /** The ALPN wire format (length-prefixed names); Bun refuses a string array. */
  ALPNProtocols?: ArrayBuffer
}

export interface BunPeerCertificate {
  subject?: Record<string, unknown>
  issuer?: Record<string, unknown>
  subjectaltname?: string
  valid_from?: string
  valid_to?: string
  fingerprint256?: string
  raw?: Uint8Array
}

/** A TCP or TLS socket. `data` is ours: the channel that owns it. */
export interface BunSocket<Data = unknown> {
  data: Data
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly localAddress: string | undefined
  readonly localPort: number | undefined
  readonly alpnProtocol: string | false | null
  readonly authorized: boolean
  /** Bytes the kernel (or TLS) took, which may be fewer than given; `-1` once closed. */
  write(data: Uint8Array): number
  /** Sends FIN (TLS: close_notify, then FIN) and keeps reading. */
  shutdown(): void
  /** Closes once Bun's own buffer is flushed. */
  end(): void
  /** Closes at once. */
  terminate(): void
  pause(): void
  resume(): void
  setNoDelay(noDelay: boolean): boolean
  setKeepAlive(enable: boolean, initialDelay?: number): boolean
  getTLSVersion(): string | null
  getCipher(): { name?: string } | null
  getServername(): string | false | undefined
  getPeerCertificate(): BunPeerCertificate | null | undefined
  /** Client: `isServer` absent. Returns `[raw, tls]`; the raw side keeps calling its old handlers. */
  upgradeTLS<D>(options: {
    data: D
    tls: BunTlsOptions
    isServer?: boolean
    socket: BunSocketHandler<D>
  }): [BunSocket<unknown>, BunSocket<D>]
}

/** One handler object per listener or connection; every callback gets the socket. */
export interface BunSocketHandler<Data> {
  open?(socket: BunSocket<Data>): void
  data?(socket: BunSocket<Data>, data: Uint8Array): void
  drain?(socket: BunSocket<Data>): void
  end?(socket: BunSocket<Data>): void
  close?(socket: BunSocket<Data>, error?: Error): void
  error?(socket: BunSocket<Data>, error: Error): void
  handshake?(socket: BunSocket<Data>, success: boolean, authorizationError: Error | null): void
}

export interface BunListener {
  readonly port: number
  stop(closeActiveConnections?: boolean): void
}

export interface BunUdpSocket {
  readonly port: number
  readonly address: { address: string; family: string; port: number }
  readonly remoteAddress: { address: string; family: string; port: number } | undefined
  readonly closed: boolean
  /** `false` when the kernel buffer is full: the datagram was not sent. Throws on errors. */
  send(data: Uint8Array, port?: number, address?: string): boolean
  close(): void
}

export interface BunUdpHandler {
  data?(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void
  drain?(socket: BunUdpSocket): void
  error?(socket: BunUdpSocket, error: Error): void
}

export interface BunApi {
  version: string
  dns: {
    /** Rejects with codes such as `DNS_ENOTFOUND`. */
    lookup(
      hostname: string,
      options: { family: 4 | 6 },
    ): Promise<Array<{ address: string; family: 4 | 6 }>>
  }
  connect<D>(options: {
    hostname: string
    port: number
    data: D
    allowHalfOpen: boolean
    tls?: BunTlsOptions
    socket: BunSocketHandler<D>
  }): Promise<BunSocket<D>>
  listen<D>(options: {
    hostname: string
    port: number
    data?: D
    allowHalfOpen: boolean
    reusePort?: boolean
    tls?: BunTlsOptions | BunTlsOptions[]
    socket: BunSocketHandler<D>
  }): BunListener
  /** Bun 1.4.4 ignores a `reusePort` option here: a second bind of the port fails. */
  udpSocket(options: {
    hostname?: string
    port?: number
    connect?: { hostname: string; port: number }
    socket: BunUdpHandler
  }): Promise<BunUdpSocket>
}

/** `globalThis.Bun`, typed. Only this adapter's modules may read it. */
export const bun = (globalThis as unknown as { Bun: BunApi }).Bun
