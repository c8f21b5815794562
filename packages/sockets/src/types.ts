/**
 * The public shapes of the socket API. Runtime adapters and the portable core
 * both build on these; nothing here touches a runtime.
 */

/** The transports a `Socket` can carry. `'quic'` is reserved for a later adapter. */
export type SocketType = 'tcp' | 'tls' | 'udp' | 'quic'

/** How TLS is used on a stream socket, as in `cloudflare:sockets`. */
export type SecureTransport = 'off' | 'on' | 'starttls'

/** `"host:port"`, `"[v6addr]:port"` or `{ hostname, port }`. */
export type SocketAddress = string | { hostname: string; port: number }

/** TLS material and checks. Every field is optional. */
export interface TlsOptions {
  /** Trusted CA certificates (PEM). Default: the runtime's bundled roots. */
  ca?: string | Uint8Array | Array<string | Uint8Array>
  /** Our certificate chain (PEM): the server's, or the client's for mTLS. */
  cert?: string | Uint8Array
  /** The private key (PEM) for `cert`. */
  key?: string | Uint8Array
  /** Verify the peer's certificate and host name. Default: `true`. */
  verify?: boolean
  /** Server side: ask the client for a certificate (mTLS). Default: `false`. */
  requestCert?: boolean
  /** Server side: certificates to choose by SNI host name. Default: none. */
  sni?: Record<string, { cert: string | Uint8Array; key: string | Uint8Array }>
  /** Server side: the ALPN protocols we accept, in order of preference. */
  alpn?: string[]
}

/** Options shared by `connect()` and `new Socket()`. Every default is noted. */
export interface SocketOptions {
  /** TLS use on a stream socket. Default: `'off'`. */
  secureTransport?: SecureTransport
  /** Keep our writable open after the peer ends its side. Default: `false`. */
  allowHalfOpen?: boolean
  /** Server name for SNI and certificate checks. Default: the host name. */
  sni?: string
  /** ALPN protocols to offer. Default: none. */
  alpn?: string[]
  /** TLS material and checks. */
  tls?: TlsOptions
  /** Aborting it aborts the socket with the signal's reason. */
  signal?: AbortSignal
  /** Disable Nagle's algorithm. Default: `true`. */
  noDelay?: boolean
  /** TCP keep-alive: `true`, or the initial delay in ms. Default: `false`. */
  keepAlive?: boolean | number
  /** Give up connecting after this many ms. Default: `30000`; `0` disables. */
  connectTimeout?: number
  /** Close the socket after this many ms without traffic. Default: `0` (never). */
  idleTimeout?: number
  /** Bytes buffered in `readable` before the peer is paused. Default: `65536`. */
  highWaterMark?: number
  /** Reach the target through a sockworker tunnel (TCP over WebSocket). Default: direct. */
  via?: TunnelVia
}

/** A sockworker tunnel: `sockworker tunnel serve` next to the target relays the bytes. */
export interface TunnelVia {
  /** The tunnel's `ws://` or `wss://` address. */
  url: string
  /** The tunnel's shared secret. Default: none (a tunnel that asks for one refuses). */
  token?: string
}

/** A local or remote endpoint. */
export interface Endpoint {
  address: string
  port: number
}

/** The constructor form from the original proposal. */
export interface SocketInit extends SocketOptions {
  /** Default: `'tcp'`. */
  type?: SocketType
  /** Where to connect. Required for TCP and TLS; optional for UDP. */
  remote?: Endpoint | { hostname: string; port: number }
  /** Where to bind. For UDP without `remote`, the readable yields every datagram received here. */
  local?: Partial<Endpoint>
}

/**
 * What `startTls()` takes. Our own form is `{ tls, sni, alpn }`. Two others
 * are accepted because code written for `cloudflare:sockets` passes them:
 * workerd's `expectedServerHostname`, and the Node-style TLS options that
 * pg-cloudflare hands on from its `ssl` setting (`ca`, `cert`, `key`,
 * `servername`, `rejectUnauthorized`).
 */
export interface StartTlsOptions {
  tls?: TlsOptions
  sni?: string
  alpn?: string[]
  /** workerd: the host name to verify. */
  expectedServerHostname?: string
  /** Node style: as `tls.ca`. */
  ca?: TlsOptions['ca']
  cert?: TlsOptions['cert']
  key?: TlsOptions['key']
  /** Node style: as `sni`. */
  servername?: string
  /** Node style: `false` is `tls.verify: false`. */
  rejectUnauthorized?: boolean
}

/** Fields `update()` may change on an open socket. */
export interface SocketUpdate {
  /** `'tls'` upgrades a TCP socket in place. */
  type?: 'tls'
  tls?: TlsOptions
  sni?: string
  alpn?: string[]
  noDelay?: boolean
  keepAlive?: boolean | number
  idleTimeout?: number
}

/** What `opened` resolves with, and `info` returns. */
export interface SocketInfo {
  type: SocketType
  remoteAddress: string | undefined
  remotePort: number | undefined
  localAddress: string | undefined
  localPort: number | undefined
  /** `undefined` until TLS is up. */
  tls: TlsInfo | undefined
}

export interface TlsInfo {
  protocol: string
  cipher: string
  /** The negotiated ALPN protocol, or `undefined`. */
  alpn: string | undefined
  /** The peer's certificate, or `undefined` when it sent none. */
  peerCertificate: PeerCertificate | undefined
  /** Whether the peer's certificate was verified. */
  authorized: boolean
  /** Server side: the SNI host name the client asked for. */
  servername: string | undefined
}

export interface PeerCertificate {
  subject: string
  issuer: string
  subjectAltName: string | undefined
  validFrom: string
  validTo: string
  fingerprint256: string
  /** DER bytes. */
  raw: Uint8Array
}

export interface SocketStats {
  bytesSent: number
  bytesReceived: number
  packetsSent: number
  packetsReceived: number
  /** UDP: datagrams dropped because `readable` was full. */
  packetsDropped: number
}

/** One UDP datagram as read from, or written to, a UDP socket. */
export interface Datagram {
  data: Uint8Array
  remoteAddress: string
  remotePort: number
}

/** A datagram to send. `remoteAddress`/`remotePort` may be left out on a connected socket. */
export interface OutgoingDatagram {
  data: ArrayBufferView | ArrayBuffer
  remoteAddress?: string
  remotePort?: number
}

/** `listen()` options. */
export interface ListenOptions {
  /** Default: `'tcp'`. */
  type?: 'tcp' | 'tls' | 'udp'
  /** Default: `'127.0.0.1'`. Use `'0.0.0.0'` or `'::'` for every interface. */
  hostname?: string
  /** Default: `0`, an ephemeral port. */
  port?: number
  /** Required for `type: 'tls'`; for `'tcp'` it is the material `startTls()` uses. */
  tls?: TlsOptions
  /** Aborting it closes the listener. */
  signal?: AbortSignal
  /** Accepted sockets keep their writable open after the peer ends. Default: `false`. */
  allowHalfOpen?: boolean
  /** Disable Nagle's algorithm on accepted sockets. Default: `true`. */
  noDelay?: boolean
  /** Close accepted sockets (UDP: flows) idle this long. Default: `0` (never); UDP flows: `30000`. */
  idleTimeout?: number
  /** Per accepted socket, as in `SocketOptions`. Default: `65536`. */
  highWaterMark?: number
  /** Pending connections the kernel queues. Default: `511`. */
  backlog?: number
  /** Let several processes bind the same port (SO_REUSEPORT). Default: `false`. */
  reusePort?: boolean
  /**
   * UDP only: flows open at once. A datagram that would open one more is
   * discarded and a `drop` event (`FlowDropEvent`) says from whom; existing
   * flows keep working. Default: `Infinity`.
   */
  maxFlows?: number
  /**
   * UDP only: new flows opened per second, with bursts up to this many. A
   * datagram that would open a flow faster is discarded, and a `drop` event
   * with `reason: "rate"` says from whom. Opening a flow (a `Socket`, its
   * streams, its handler) costs far more than serving a datagram of an open
   * one, so a flood of new sources could starve existing flows long before
   * `maxFlows` stops it. Default: `Infinity`.
   */
  newFlowsPerSecond?: number
}

export interface ListenerInfo {
  type: 'tcp' | 'tls' | 'udp' | 'quic'
  hostname: string
  port: number
}
