/**
 * @sockworker/sockets: one web-standard socket API for TCP, TLS and UDP.
 * This module is portable; the package's `exports` conditions load it
 * through the adapter for the running runtime.
 */
export { connect } from './connect.ts'
export { isSocketError, SocketError, type SocketErrorCode } from './errors.ts'
export { listen } from './listen.ts'
export { FlowDropEvent, type FlowDropReason, SocketEvent, SocketListener } from './listener.ts'
export { QuicConnection, type QuicSocketInit } from './quic/connection.ts'
export type * from './quic/types.ts'
export { Socket } from './socket.ts'
export type * from './types.ts'
