/** quiche configurations from our TLS options and transport parameters. */
import type { QuicParams } from '../../../quic/platform.ts'
import type { TlsOptions } from '../../../types.ts'
import { nodeTls } from '../lazy.ts'
import { type Config, quiche } from './binding.ts'

const encoder = new TextEncoder()

function pem(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value
}

/** The trusted roots as one PEM bundle: the caller's `ca`, or Node's bundled roots. */
function trusted(ca: TlsOptions['ca']): Uint8Array {
  const list = ca === undefined ? nodeTls().rootCertificates : Array.isArray(ca) ? ca : [ca]
  const parts = list.map((item) => new TextDecoder().decode(pem(item)).trim())
  return encoder.encode(`${parts.join('\n')}\n`)
}

/**
 * A client or server configuration. Certificate verification is on unless
 * `tls.verify` is false; quiche checks the chain against `ca` and the
 * certificate against the server name (BoringSSL's host check).
 */
export function makeConfig(
  role: 'client' | 'server',
  tls: TlsOptions,
  alpn: string[],
  params: QuicParams,
): Config {
  const verify = role === 'client' ? tls.verify !== false : tls.requestCert === true
  const key = tls.key === undefined ? null : [pem(tls.key)]
  const cert = tls.cert === undefined ? null : [pem(tls.cert)]
  const config = quiche().Config.withBoringSslCtx(
    verify,
    false,
    verify ? trusted(tls.ca) : null,
    key,
    cert,
    null,
  )
  config.setApplicationProtos(alpn)
  config.setMaxIdleTimeout(params.idleTimeout)
  config.setInitialMaxData(params.connectionWindow)
  config.setInitialMaxStreamDataBidiLocal(params.streamWindow)
  config.setInitialMaxStreamDataBidiRemote(params.streamWindow)
  config.setInitialMaxStreamDataUni(params.streamWindow)
  config.setInitialMaxStreamsBidi(params.maxBidirectionalStreams)
  config.setInitialMaxStreamsUni(params.maxUnidirectionalStreams)
  // Windows may grow with the bandwidth-delay product, up to 4x the initial one.
  config.setMaxStreamWindow(params.streamWindow * 4)
  config.setMaxConnectionWindow(params.connectionWindow * 4)
  config.setMaxRecvUdpPayloadSize(1500)
  config.setMaxSendUdpPayloadSize(1350)
  config.setDisableActiveMigration(true)
  config.enableDgram(true, params.datagramQueue, params.datagramQueue)
  return config
}
