/**
 * SIP: a user agent server over UDP that answers every call (INVITE → 100,
 * 180, 200 OK with SDP), ends it on BYE, and answers OPTIONS. It sends no
 * media: it is the signalling half of a VoIP service, to start from.
 *
 *   sipp -sn uac 127.0.0.1:5060 -m 10
 */
import type { Datagram, Socket } from '@sockworker/sockets'
import { parseRequest } from './message.ts'
import { Uas } from './uas.ts'

export default {
  async connect(socket: Socket): Promise<void> {
    // One UDP flow is one peer (address and port): it gets its own
    // transaction and dialog state, which ends with the flow.
    const { localAddress, localPort } = socket.info
    const writer = socket.writable.getWriter()
    const local = { host: localAddress ?? '127.0.0.1', port: localPort ?? 5060 }
    // A retransmitted 200 OK goes out from a timer; if the flow has closed
    // by then there is no one to tell.
    const uas = new Uas(local, (bytes) => writer.write(bytes).catch(() => {}))
    try {
      for await (const { data } of socket.readable as ReadableStream<Datagram>) {
        // Garbage, responses and keep-alives give `undefined`: no reply.
        const request = parseRequest(data)
        if (request === undefined) continue
        for (const response of uas.handle(request)) await writer.write(response)
      }
    } finally {
      uas.close()
    }
  },
}
