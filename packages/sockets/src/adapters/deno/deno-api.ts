/**
 * The few Deno APIs this adapter uses, declared here rather than through
 * `deno.d.ts`, so that `tsc` typechecks the adapter with the rest of the
 * repository. The shapes follow `deno types` for Deno 2.9; `Deno` is read
 * from `globalThis` when the adapter loads, which only happens under Deno.
 */

export interface NetAddr {
  transport: 'tcp' | 'udp'
  hostname: string
  port: number
}

export interface Conn extends Disposable {
  read(p: Uint8Array): Promise<number | null>
  write(p: Uint8Array): Promise<number>
  closeWrite(): Promise<void>
  close(): void
  readonly localAddr: NetAddr
  readonly remoteAddr: NetAddr
}

export interface TcpConn extends Conn {
  setNoDelay(noDelay?: boolean): void
  setKeepAlive(keepAlive?: boolean): void
}

export interface TlsConn extends Conn {
  handshake(): Promise<{ alpnProtocol: string | null }>
}

export interface Listener<C extends Conn> extends Disposable {
  accept(): Promise<C>
  close(): void
  readonly addr: NetAddr
}

export interface DatagramConn {
  receive(p?: Uint8Array): Promise<[Uint8Array<ArrayBuffer>, NetAddr]>
  send(p: Uint8Array, addr: NetAddr): Promise<number>
  close(): void
  readonly addr: NetAddr
}

interface ClientTls {
  caCerts?: string[]
  alpnProtocols?: string[]
}

interface CertifiedKey {
  cert: string
  key: string
}

export interface DenoNamespace {
  readonly version: { deno: string }
  connect(options: {
    hostname: string
    port: number
    transport?: 'tcp'
    signal?: AbortSignal
  }): Promise<TcpConn>
  connectTls(
    options: ClientTls & { hostname: string; port: number } & Partial<CertifiedKey>,
  ): Promise<TlsConn>
  startTls(conn: TcpConn, options: ClientTls & { hostname?: string }): Promise<TlsConn>
  listen(options: {
    hostname: string
    port: number
    transport?: 'tcp'
    reusePort?: boolean
    tcpBacklog?: number
  }): Listener<TcpConn>
  listenTls(
    options: CertifiedKey & {
      hostname: string
      port: number
      transport?: 'tcp'
      alpnProtocols?: string[]
      reusePort?: boolean
      tcpBacklog?: number
    },
  ): Listener<TlsConn>
  /** Unstable in Deno 2.x: present only with `--unstable-net`. */
  listenDatagram?: (options: {
    transport: 'udp'
    hostname: string
    port: number
    reuseAddress?: boolean
  }) => DatagramConn
  resolveDns(query: string, recordType: 'A' | 'AAAA'): Promise<string[]>
}

/** The `Deno` namespace. Only `adapters/deno/` may touch it. */
export const Deno = (globalThis as unknown as { Deno: DenoNamespace }).Deno

/**
 * Whether Deno runs with `--unstable-net`. Deno exits the process, rather
 * than throwing, when an unstable option such as `reusePort` is used
 * without it, so the adapter asks first: the flag is what exposes
 * `Deno.listenDatagram`.
 */
export function hasUnstableNet(): boolean {
  return typeof Deno.listenDatagram === 'function'
}
