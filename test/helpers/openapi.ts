import type { FastifyInstance } from 'fastify'

export interface RouteRef { method: string, path: string }

/** Pages and assets of the OpenAPI UI, and the dashboard's assets: not part of the API they describe. */
const NOT_API = /^\/docs(\/|$)|^\/dashboard\//

/**
 * Every route the app registered, from Fastify's own route tree (`printRoutes`), as OpenAPI
 * paths (`:id` → `{id}`), without HEAD (Fastify adds one per GET) and without the UI's pages.
 */
export function registeredRoutes (app: FastifyInstance): RouteRef[] {
  const routes: RouteRef[] = []
  const prefixes: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    // "│   ├── /batch (POST)": four characters per level of depth, then the segment and its methods.
    const m = /^((?:[│ ] {3})*)[├└]── (.*) \(([^)]*)\)$/.exec(line)
    if (!m) continue
    const depth = (m[1] as string).length / 4
    const path = (prefixes[depth - 1] ?? '') + (m[2] as string)
    prefixes[depth] = path
    prefixes.length = depth + 1
    for (const method of (m[3] as string).split(', ')) {
      if (method !== '-' && method !== 'HEAD' && !NOT_API.test(path)) routes.push({ method, path: toOpenApiPath(path) })
    }
  }
  return routes
}

const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

interface SpecPaths { paths?: Record<string, Record<string, { summary?: string, tags?: string[] }>> }

/**
 * Routes the app registered that the served spec does not describe: missing (hidden), or listed
 * with no summary and no tag, which is how @fastify/swagger shows a route that has no schema.
 */
export function undocumented (app: FastifyInstance, spec: SpecPaths): RouteRef[] {
  return registeredRoutes(app).filter((r) => {
    const op = spec.paths?.[r.path]?.[r.method.toLowerCase()]
    return !op?.summary || !op.tags?.length
  })
}
