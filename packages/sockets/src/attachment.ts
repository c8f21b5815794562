/**
 * How the core hands a `Socket` a connection it did not open itself: an
 * accepted one, a UDP flow, or the TLS successor of `startTls()`.
 */
import type { DatagramTransport } from './datagram-transport.ts'
import type { ResolvedOptions } from './options.ts'
import type { ByteChannel, TlsParams } from './platform.ts'
import type { QuicTransport } from './quic/transport.ts'
import { StreamTransport, type TransportEvents } from './stream-transport.ts'
import type { SocketType } from './types.ts'

export type Transport = StreamTransport | DatagramTransport | QuicTransport

/** Only this package makes attachments: `new Socket(init, attachment)` is internal. */
export class Attachment {
  readonly type: SocketType
  readonly open: (events: TransportEvents, options: ResolvedOptions) => Transport
  /** False when the connection is already open, as an accepted one is. */
  readonly connecting: boolean
  /** What `startTls()` on this socket uses, if it may upgrade. */
  readonly upgradeTls: TlsParams | undefined

  constructor(
    type: SocketType,
    open: (events: TransportEvents, options: ResolvedOptions) => Transport,
    connecting: boolean,
    upgradeTls?: TlsParams,
  ) {
    this.type = type
    this.open = open
    this.connecting = connecting
    this.upgradeTls = upgradeTls
  }
}

/** An attachment for a TCP or TLS channel. */
export function streamAttachment(
  type: 'tcp' | 'tls',
  channel: ByteChannel,
  connecting: boolean,
  upgradeTls?: TlsParams,
): Attachment {
  const open = (events: TransportEvents, { allowHalfOpen, highWaterMark }: ResolvedOptions) =>
    new StreamTransport(channel, { allowHalfOpen, highWaterMark, connecting }, events)
  return new Attachment(type, open, connecting, upgradeTls)
}
