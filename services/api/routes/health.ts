import type { FastifyPluginAsync } from 'fastify'
import type { RegionLink, RegionLinks } from '../../../shared/region-link.js'
import { RETRY_AFTER_SECONDS } from '../errors.js'
import { healthzDocs, readyzDocs } from '../schemas/health.js'

/** Jobs waiting this long with no worker finishing any means consumers are gone or stuck. */
export const STALLED_CONSUMERS_MS = 60_000

/**
 * /healthz: the process is up. /readyz: 200 while every region's Redis answers, so ingestion can
 * succeed. A region whose work waits while its workers have stopped finishing jobs is named in
 * the body ("workers stalled") but keeps the API ready: taking every API process out of its load
 * balancer would not bring a worker back, and would refuse mail Redis can still take (the
 * consumer heartbeat metric and its alert cover stalled workers).
 */
export const healthRoutes: FastifyPluginAsync<{ links: RegionLinks }> = async (app, { links }) => {
  app.get('/healthz', { schema: healthzDocs }, async () => ({ status: 'ok' }))
  app.get('/readyz', { schema: readyzDocs }, async (_req, reply) => {
    const checks = await Promise.all([...links.links.values()].map(async (l) => ({ region: l.region, state: await regionState(l) })))
    const ready = checks.every((c) => c.state !== 'redis down')
    if (!ready) void reply.code(503).header('retry-after', RETRY_AFTER_SECONDS)
    return { status: ready ? 'ready' : 'unavailable', regions: Object.fromEntries(checks.map((c) => [c.region, c.state])) }
  })
}

async function regionState (l: RegionLink): Promise<'up' | 'redis down' | 'workers stalled'> {
  try {
    const [counts, progress] = await Promise.all([
      Promise.all(l.current.map((p) => p.queue.getJobCountByTypes('wait', 'prioritized'))),
      l.storeRedis.get(l.keys.progress)
    ])
    const waiting = l.current.filter((_, i) => (counts[i] ?? 0) > 0)
    if (waiting.length === 0) return 'up'
    const oldest = Math.min(...await Promise.all(waiting.map(async (p) => (await p.queue.getJobs(['wait'], -1, -1))[0]?.timestamp ?? Date.now())))
    const since = Math.max(Number(progress ?? 0), oldest)
    return Date.now() - since > STALLED_CONSUMERS_MS ? 'workers stalled' : 'up'
  } catch {
    return 'redis down'
  }
}
