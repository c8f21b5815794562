/**
 * Reads a PROXY protocol header off a freshly accepted connection, then puts
 * back whatever payload came with it, so that TLS or the worker reads the
 * stream from its true first byte.
 */
import type { Socket as NetSocket } from 'node:net'
import { type ProxyHeader, type ProxyVersion, parseProxyHeader } from './parse.ts'

export type ProxyRead =
  | { ok: true; header: ProxyHeader }
  /** `timedOut`: no complete header within the time allowed (the rest are bad headers). */
  | { ok: false; reason: string; timedOut?: true }

export function readProxyHeader(
  socket: NetSocket,
  accept: ProxyVersion,
  timeoutMs: number,
): Promise<ProxyRead> {
  return new Promise((resolve) => {
    let buffered = new Uint8Array(0)
    const finish = (result: ProxyRead) => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('error', onEnd)
      socket.pause()
      resolve(result)
    }
    const onData = (chunk: Buffer) => {
      const next = new Uint8Array(buffered.byteLength + chunk.byteLength)
      next.set(buffered)
      next.set(chunk, buffered.byteLength)
      buffered = next
      const parsed = parseProxyHeader(buffered, accept)
      if (parsed.status === 'incomplete') return
      if (parsed.status === 'invalid') return finish({ ok: false, reason: parsed.reason })
      const payload = buffered.subarray(parsed.consumed)
      finish({ ok: true, header: parsed.header })
      // A copy with its own memory: a Buffer from Node's pool cannot be
      // handed over (transferred) to the socket's byte stream.
      if (payload.byteLength > 0) socket.unshift(Buffer.from(payload.slice().buffer))
    }
    const onEnd = () =>
      finish({ ok: false, reason: 'the connection ended before a complete PROXY header' })
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          reason: `no complete PROXY header within ${timeoutMs} ms`,
          timedOut: true,
        }),
      timeoutMs,
    )
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('error', onEnd)
    // Accepted with pauseOnConnect, the socket reads nothing until resumed.
    socket.resume()
  })
}
