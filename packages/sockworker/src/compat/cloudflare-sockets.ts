/**
 * `cloudflare:sockets` inside a worker: the same `connect()` as everywhere
 * else, so code written for workerd runs unchanged.
 */
export { connect, SocketError } from '@sockworker/sockets'
