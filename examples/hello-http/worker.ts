/**
 * A fetch handler next to the socket ones: workers serve HTTP too.
 *
 *   curl http://127.0.0.1:8080/
 */
export default {
  fetch(request: Request, env: Record<string, unknown>): Response {
    const { pathname } = new URL(request.url)
    return Response.json({ hello: env['GREETING'] ?? 'world', path: pathname })
  },
}
