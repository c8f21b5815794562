/**
 * The part of Deno's unstable QUIC API (`--unstable-net`, Deno 2.9) this
 * engine uses, declared here for the same reason as `../deno-api.ts`. The
 * shapes follow `deno types --unstable-net`; what Deno 2.9.6 actually does
 * where the types are silent is noted (probed, see docs/runtimes.md).
 */
import type { NetAddr } from '../deno-api.ts'

export interface QuicTransportOptions {
  keepAliveInterval?: number
  /** 0 disables the idle timeout (RFC 9000 §18.2). */
  maxIdleTimeout?: number
  maxConcurrentBidirectionalStreams?: number
  maxConcurrentUnidirectionalStreams?: number
}

export interface QuicCloseInfo {
  closeCode: number
  reason: string
}

export interface QuicBidirectionalStream {
  readonly readable: ReadableStream<Uint8Array>
  /** Deno 2.9: `abort()` and `close()` both end the stream with FIN; there is no RESET_STREAM. */
  readonly writable: WritableStream<Uint8Array>
}

export interface QuicConn {
  close(info?: QuicCloseInfo): void
  /** `waitUntilAvailable: false` (the default) rejects at the peer's stream limit. */
  createBidirectionalStream(options?: {
    waitUntilAvailable?: boolean
  }): Promise<QuicBidirectionalStream>
  createUnidirectionalStream(options?: {
    waitUntilAvailable?: boolean
  }): Promise<WritableStream<Uint8Array>>
  /** Waits for room in the send buffer; rejects "datagram too large" over `maxDatagramSize`. */
  sendDatagram(data: Uint8Array): Promise<void>
  readDatagram(): Promise<Uint8Array>
  readonly remoteAddr: NetAddr
  readonly protocol: string | undefined
  /** Server side: the SNI the client sent, or null (none for an IP address). */
  readonly serverName: string | null | undefined
  /** Resolves for an application close (ours reads `{ closeCode: 0 }`), rejects otherwise. */
  readonly closed: Promise<QuicCloseInfo>
  readonly incomingBidirectionalStreams: ReadableStream<QuicBidirectionalStream>
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>
  readonly maxDatagramSize: number
}

/** Deno 2.9.6: the listener's async iterator yields these, not connections. */
export interface QuicIncoming {
  accept(options?: QuicTransportOptions): Promise<QuicConn>
}

export interface QuicListener extends AsyncIterable<QuicIncoming> {
  stop(): void
}

export interface QuicEndpoint {
  readonly addr: NetAddr
  listen(
    options: QuicTransportOptions & { alpnProtocols: string[]; cert: string; key: string },
  ): QuicListener
  close(info?: QuicCloseInfo): void
}

export interface DenoQuic {
  QuicEndpoint?: new (options: { hostname: string; port: number }) => QuicEndpoint
  connectQuic?: (
    options: QuicTransportOptions & {
      hostname: string
      port: number
      serverName?: string
      alpnProtocols: string[]
      caCerts?: string[]
      /** Not in the 2.9 types, but read by `Deno.connectQuic`: a client certificate. */
      cert?: string
      key?: string
      endpoint?: QuicEndpoint
    },
  ) => Promise<QuicConn>
}

/** `Deno`'s QUIC members: undefined without `--unstable-net`. */
export const DenoQuic = (globalThis as unknown as { Deno: DenoQuic }).Deno
