/**
 * A `Socket` on workerd: a thin shape over a `cloudflare:sockets` socket.
 * Streams, `opened`, `closed`, `close()` and `startTls()` are Cloudflare's;
 * failures become `SocketError`s so that callers branch on `code` as they
 * do on every other runtime. What workerd does not expose (TLS details,
 * byte counts, `update()`) is absent or zero, never invented.
 */
import {
  type CloudflareSocket,
  type CloudflareSocketInfo,
  connect as cloudflareConnect,
} from 'cloudflare:sockets'
import { parseAddress, parseHostPort } from '../../address.ts'
import { isSocketError, SocketError, type SocketErrorCode } from '../../errors.ts'
import type { SocketInfo, SocketInit, SocketStats, StartTlsOptions } from '../../types.ts'

/** Options workerd has no equivalent for: refused rather than silently dropped. */
const unsupportedOptions = [
  'sni',
  'alpn',
  'tls',
  'via',
  'local',
  'keepAlive',
  'connectTimeout',
  'idleTimeout',
] as const

/** The Cloudflare socket a `startTls()` hands to the constructor. */
let upgrading: CloudflareSocket | undefined

/**
 * `new Socket({ remote, secureTransport, allowHalfOpen, signal })` on workerd.
 *
 * @example
 * const socket = new Socket({ remote: { hostname: 'example.com', port: 443 }, secureTransport: 'on' })
 * await socket.opened
 */
export class Socket extends EventTarget {
  readonly opened: Promise<SocketInfo>
  readonly ready: Promise<void>
  readonly closed: Promise<void>
  #inner: CloudflareSocket
  #info: SocketInfo
  #controller = new AbortController()

  constructor(init: SocketInit) {
    super()
    const type = init.type ?? (init.secureTransport === 'on' ? 'tls' : 'tcp')
    if (type === 'udp' || type === 'quic') throw unsupported(`A ${type.toUpperCase()} socket`)
    if (init.remote === undefined)
      throw new TypeError('A TCP or TLS socket needs remote: { hostname, port }')
    const remote = parseAddress(
      'hostname' in init.remote
        ? init.remote
        : { hostname: init.remote.address, port: init.remote.port },
    )
    const inner = upgrading ?? openCloudflare(init, remote)
    this.#inner = inner
    this.#info = {
      type,
      remoteAddress: remote.hostname,
      remotePort: remote.port,
      localAddress: undefined,
      localPort: undefined,
      tls: undefined,
    }
    this.opened = inner.opened.then(
      (info) => {
        this.#info = { ...this.#info, ...addresses(info) }
        this.dispatchEvent(new Event('open'))
        return this.#info
      },
      (error: unknown) => {
        throw toSocketError(error, `Cannot connect to ${remote.hostname}:${remote.port}`)
      },
    )
    this.ready = this.opened.then(() => {})
    this.closed = inner.closed.then(
      () => {
        this.#controller.abort()
        this.dispatchEvent(new Event('close'))
      },
      (error: unknown) => {
        const failure = toSocketError(error, `Socket to ${remote.hostname}:${remote.port} failed`)
        this.#controller.abort(failure)
        this.dispatchEvent(new Event('error'))
        throw failure
      },
    )
    // Rejections are the caller's to observe through `opened` and `closed`.
    this.ready.catch(() => {})
    this.closed.catch(() => {})
  }

  get readable(): ReadableStream<Uint8Array> {
    return this.#inner.readable
  }

  get writable(): WritableStream<Uint8Array> {
    return this.#inner.writable
  }

  get info(): SocketInfo {
    return this.#info
  }

  /** workerd does not count bytes for us. */
  get stats(): SocketStats {
    return { bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0, packetsDropped: 0 }
  }

  /** Aborted once the socket is closed, with the failure if it failed. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  get upgraded(): boolean {
    return this.#inner.upgraded
  }

  get secureTransport(): 'off' | 'on' | 'starttls' {
    return this.#inner.secureTransport
  }

  /** Flushes pending writes, then closes; calling it twice is harmless. */
  close(_reason?: unknown): Promise<void> {
    return this.#inner.close().then(() => this.closed)
  }

  /** workerd has no abort: this closes. */
  abort(reason?: unknown): Promise<void> {
    return this.close(reason)
  }

  /** Cloudflare's `startTls()`; the host name to verify is `sni`, `servername` or `expectedServerHostname`. */
  startTls(options: StartTlsOptions = {}): Socket {
    const hostname = options.sni ?? options.servername ?? options.expectedServerHostname
    upgrading = this.#inner.startTls(
      hostname === undefined ? {} : { expectedServerHostname: hostname },
    )
    try {
      const { remoteAddress = '', remotePort = 0 } = this.#info
      return new Socket({ type: 'tls', remote: { hostname: remoteAddress, port: remotePort } })
    } finally {
      upgrading = undefined
    }
  }

  update(): never {
    throw unsupported('Socket.update()')
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(() => {})
  }
}

function openCloudflare(
  init: SocketInit,
  remote: { hostname: string; port: number },
): CloudflareSocket {
  for (const option of unsupportedOptions) {
    if (init[option] !== undefined) throw unsupported(`The "${option}" option`)
  }
  init.signal?.throwIfAborted()
  const inner = cloudflareConnect(remote, {
    secureTransport: init.secureTransport ?? 'off',
    allowHalfOpen: init.allowHalfOpen ?? false,
  })
  init.signal?.addEventListener('abort', () => void inner.close().catch(() => {}), { once: true })
  return inner
}

/** A failure of a runtime feature that workerd lacks. */
export function unsupported(what: string): SocketError {
  return new SocketError(
    'ERR_UNSUPPORTED',
    `${what} is not supported on workerd (Cloudflare Workers): it cannot be done there; run on Node.js, Deno or Bun`,
  )
}

function addresses(info: CloudflareSocketInfo): Partial<SocketInfo> {
  return info.localAddress === undefined ? {} : splitLocal(info.localAddress)
}

function splitLocal(address: string): Partial<SocketInfo> {
  const parsed = parseHostPort(address, { allowZero: true })
  if (!parsed.ok) return { localAddress: address }
  return { localAddress: parsed.value.hostname, localPort: parsed.value.port }
}

/** workerd's errors carry only a message; the code is read from it. */
function toSocketError(error: unknown, context: string): SocketError {
  if (isSocketError(error)) return error
  const message = error instanceof Error ? error.message : String(error)
  return new SocketError(codeOf(message), `${context}: ${message}`, { cause: error })
}

/**
 * workerd reports every failed connect as "proxy request failed, cannot
 * connect to the specified address", refused or unreachable alike; the
 * commonest cause is a refusal, so that is the code.
 */
function codeOf(message: string): SocketErrorCode {
  if (/refused|cannot connect/i.test(message)) return 'ECONNREFUSED'
  if (/reset/i.test(message)) return 'ECONNRESET'
  if (/timed? ?out/i.test(message)) return 'ETIMEDOUT'
  if (/not found|resolve|dns/i.test(message)) return 'ENOTFOUND'
  if (/certificate/i.test(message)) return 'ERR_TLS_CERT'
  return 'ERR_SOCKET'
}
