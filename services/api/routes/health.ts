import type { FastifyPluginAsync } from 'fastify'
import type { RegionLinks } from '../../../shared/region-link.js'
import { RETRY_AFTER_SECONDS } from '../errors.js'

/** /healthz: the process is up. /readyz: every region's Redis answers, so ingestion can succeed. */
export const healthRoutes: FastifyPluginAsync<{ links: RegionLinks }> = async (app, { links }) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }))
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const checks = await Promise.all([...links.links.values()].map(async (l) => {
      try {
        return { region: l.region, ok: (await l.storeRedis.ping()) === 'PONG' }
      } catch {
        return { region: l.region, ok: false }
      }
    }))
    const ready = checks.every((c) => c.ok)
    if (!ready) void reply.code(503).header('retry-after', RETRY_AFTER_SECONDS)
    return { status: ready ? 'ready' : 'unavailable', redis: Object.fromEntries(checks.map((c) => [c.region, c.ok ? 'up' : 'down'])) }
  })
}
