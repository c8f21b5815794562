/**
 * The part of workerd's `cloudflare:sockets` that the workerd adapter uses,
 * as workerd documents it. Only this adapter sees these types.
 */
declare module 'cloudflare:sockets' {
  export interface CloudflareSocketInfo {
    remoteAddress?: string
    localAddress?: string
  }
  export interface CloudflareSocket {
    readonly readable: ReadableStream<Uint8Array>
    readonly writable: WritableStream<Uint8Array>
    readonly opened: Promise<CloudflareSocketInfo>
    readonly closed: Promise<void>
    readonly upgraded: boolean
    readonly secureTransport: 'off' | 'on' | 'starttls'
    close(): Promise<void>
    startTls(options?: { expectedServerHostname?: string }): CloudflareSocket
  }
  export function connect(
    address: string | { hostname: string; port: number },
    options?: { secureTransport?: 'off' | 'on' | 'starttls'; allowHalfOpen?: boolean },
  ): CloudflareSocket
}
