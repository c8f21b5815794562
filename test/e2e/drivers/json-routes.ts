/**
 * The HTTP face shared by the driver fixtures: a worker whose `fetch`
 * handler maps a path to a route and answers JSON, or `{ error, code, name }`
 * with status 500 carrying the driver's own error.
 */
export type Env = Record<string, string | undefined>
export type Route = (params: URLSearchParams, env: Env) => Promise<unknown>

export function jsonRoutes(routes: Record<string, Route>) {
  return {
    async fetch(request: Request, env: Env): Promise<Response> {
      const url = new URL(request.url)
      const route = routes[url.pathname]
      if (route === undefined) return Response.json({ error: 'no such route' }, { status: 404 })
      try {
        return Response.json(await route(url.searchParams, env))
      } catch (error) {
        const { message, code, name } = error as { message?: string; code?: string; name?: string }
        return Response.json({ error: message ?? String(error), code, name }, { status: 500 })
      }
    },
  }
}
