import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from '../../shared/config.js'
import { systemClock, type Clock } from '../../shared/clock.js'
import type { Logger } from '../../shared/logger.js'
import type { Metrics } from '../../shared/metrics.js'
import type { RegionLinks } from '../../shared/region-link.js'
import { REGIONS } from '../../shared/config-schema.js'
import { createClientRate } from './client-rate.js'
import { createIngest } from './enqueue.js'
import { errorHandler, schemaError } from './errors.js'
import { authPlugin } from './plugins/auth.js'
import { docsPlugin } from './plugins/docs.js'
import { dashboardRoutes } from './routes/dashboard.js'
import { jsonBodyPlugin } from './plugins/json-body.js'
import { domainsRoutes } from './routes/domains.js'
import { statsRoutes } from './routes/stats.js'
import { healthRoutes } from './routes/health.js'
import { messageAdminRoutes } from './routes/message-admin.js'
import { mailgunRoutes } from './routes/mailgun.js'
import { messagesRoutes } from './routes/messages.js'
import { webhookRoutes } from './routes/webhooks.js'
import { metricsRoutes } from './routes/metrics.js'

export interface ApiDeps {
  config: Config
  links: RegionLinks
  logger: Logger
  metrics: Metrics
  clock?: Clock
}

/** Attachments arrive base64 in JSON: Mailgun's 25 MB message limit, plus a third for base64. */
const BODY_LIMIT_BYTES = 36 * 1024 * 1024

/** The API as a function of its dependencies; never listens, never reads the environment. */
export async function buildApi ({ config, links, logger, metrics, clock = systemClock }: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger.child({ component: 'api' }) as FastifyBaseLogger,
    // One log line per request would cost more than the rest of the ingest path; errors are logged.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request (Fastify's default, with redaction set up each time): errors
    // are logged with their request explicitly, and ingest stays cheap.
    childLoggerFactory: (logger) => logger,
    bodyLimit: BODY_LIMIT_BYTES,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    schemaErrorFormatter: schemaError
  }).withTypeProvider<TypeBoxTypeProvider>()
  // Client buckets and Idempotency-Key claims live in one Redis every API process reaches: the
  // first configured region's (us, then eu), so regions can never disagree about them.
  const home = REGIONS.map((r) => links.links.get(r)).find((l) => l !== undefined)
  if (!home) throw new Error('the API needs at least one region')
  const clientRate = createClientRate(config.clients.some((c) => c.ratePerSecond !== null) ? { redis: home.storeRedis, key: home.keys.clientRate } : null)
  const claims = { redis: home.storeRedis, key: home.keys.idempotency }
  const ingest = createIngest(config, links)
  app.addHook('onClose', async () => { await ingest.close() })
  const intake = { ingest, clientRate, metrics }

  // Before the routes: Fastify hands a context's error handler only to plugins registered after it.
  app.setErrorHandler(errorHandler)
  await app.register(jsonBodyPlugin, { fileRoutes: ['/v1/messages'] })
  await app.register(docsPlugin)
  await app.register(authPlugin, { clients: config.clients })
  await app.register(healthRoutes, { links })
  await app.register(metricsRoutes, { metrics })
  await app.register(messagesRoutes, { config, links, clock, intake, claims })
  await app.register(messageAdminRoutes, { config, links, clock })
  await app.register(domainsRoutes, { config, links, clock })
  await app.register(statsRoutes, { config, links, clock })
  await app.register(mailgunRoutes, { config, clock, intake })
  await app.register(webhookRoutes, { config, links, clock })
  await app.register(dashboardRoutes)

  app.setNotFoundHandler((req, reply) => { void reply.code(404).send({ message: `no route ${req.method} ${req.url}`, code: 'MQ_ERR_NOT_FOUND' }) })
  return app
}
