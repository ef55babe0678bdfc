import type { FastifyPluginAsync } from 'fastify'
import type { Metrics } from '../../../shared/metrics.js'
import { metricsDocs } from '../schemas/health.js'

/** GET /metrics: Prometheus text; no client key (scraped from inside the network). */
export const metricsRoutes: FastifyPluginAsync<{ metrics: Metrics }> = async (app, { metrics }) => {
  app.get('/metrics', { schema: metricsDocs }, async (_req, reply) => {
    const text = await metrics.registry.metrics()
    return reply.type(metrics.registry.contentType).send(text)
  })
}
