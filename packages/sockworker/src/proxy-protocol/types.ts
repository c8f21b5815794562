/** What the PROXY protocol parsers and encoders take and give. */

/** Which header versions a listener accepts. */
export type ProxyVersion = 'v1' | 'v2' | 'any'

/** One type-length-value extension of a v2 header, undecoded. */
export interface ProxyTlv {
  /** The type byte, e.g. `0x01` ALPN, `0x02` authority, `0x05` unique id, `0x20` SSL. */
  type: number
  /** A copy of the value bytes: it does not alias the parsed buffer. */
  value: Uint8Array
}

/** What a PROXY protocol header says about the connection. */
export interface ProxyHeader {
  version: 1 | 2
  /**
   * `'local'`: the balancer opened the connection itself (a health check), so
   * the real connection endpoints apply. v1 has no LOCAL; it says `UNKNOWN`.
   */
  command: 'proxy' | 'local'
  /** `'unknown'` means: use the real connection endpoints (also for AF_UNIX). */
  protocol: 'tcp4' | 'tcp6' | 'udp4' | 'udp6' | 'unknown'
  /** The client's address, in canonical text form (RFC 5952 for IPv6). */
  sourceAddress?: string
  sourcePort?: number
  /** The address the client connected to, on the balancer. */
  destinationAddress?: string
  destinationPort?: number
  /** v2 only, in wire order; empty when the header has none. */
  tlvs?: ProxyTlv[]
}

/** The outcome of `parseProxyHeader`: it never throws on bad input. */
export type ParseResult =
  | { status: 'incomplete' }
  | { status: 'done'; header: ProxyHeader; consumed: number }
  | { status: 'invalid'; reason: string }
