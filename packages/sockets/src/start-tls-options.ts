/** `startTls()` options in any of the forms drivers pass, turned into ours. */
import type { StartTlsOptions, TlsOptions } from './types.ts'

/** `startTls()` options in our own form, whichever form the caller used. */
export function fromStartTlsOptions(options: StartTlsOptions): {
  tls?: TlsOptions
  sni?: string
  alpn?: string[]
} {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('Invalid startTls() options: expected an object such as { tls: { ca } }')
  }
  const { ca, cert, key, rejectUnauthorized } = options
  const tls: TlsOptions = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(rejectUnauthorized === false ? { verify: false } : {}),
    ...options.tls,
  }
  const sni = options.sni ?? options.servername ?? options.expectedServerHostname
  return {
    tls,
    ...(sni === undefined || sni === '' ? {} : { sni }),
    ...(options.alpn === undefined ? {} : { alpn: options.alpn }),
  }
}
