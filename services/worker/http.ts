import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from '../../shared/logger.js'
import type { Metrics } from '../../shared/metrics.js'
import type { RedisClient } from '../../shared/redis.js'
import type { RegionLinks } from '../../shared/region-link.js'

export interface WorkerHttpDeps {
  /** The worker's own connections (role 'worker'). */
  links: RegionLinks
  /** This process's registry: its own metrics only (see shared/metrics.ts). */
  metrics: Metrics
  logger: Logger
  /** True once the worker has begun to shut down; /readyz answers 503 from then on. */
  stopping: () => boolean
}

/** Seconds a prober should wait after a 503. */
const RETRY_AFTER_SECONDS = 2
/** A Redis that takes longer than this to answer PING counts as down. */
const PING_TIMEOUT_MS = 1000

/**
 * What `npm run start:worker` serves on WORKER_PORT, for an orchestrator and Prometheus:
 * /healthz (the process is up), /readyz (200 only while every Redis connection of the worker
 * answers and it is not shutting down; 503 + Retry-After otherwise), /metrics. Never listens.
 */
export function buildWorkerHttp ({ links, metrics, logger, stopping }: WorkerHttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger.child({ component: 'worker-http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true })
  })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const checks = await Promise.all([...links.links.values()].map(async (l) => {
      const up = (await Promise.all([answers(l.queueRedis), answers(l.storeRedis)])).every(Boolean)
      return [l.region, up ? 'up' : 'redis down'] as const
    }))
    const status = stopping() ? 'stopping' : checks.every(([, state]) => state === 'up') ? 'ready' : 'unavailable'
    if (status !== 'ready') void reply.code(503).header('retry-after', RETRY_AFTER_SECONDS)
    return { status, regions: Object.fromEntries(checks) }
  })
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics()
    return reply.type(metrics.registry.contentType).send(text)
  })
  return app
}

/**
 * Worker connections queue commands while Redis is away (maxRetriesPerRequest null), so a PING
 * would wait for Redis to come back: only a ready connection is asked, and not for long.
 */
async function answers (redis: RedisClient): Promise<boolean> {
  if (redis.status !== 'ready') return false
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS) })
  try {
    return await Promise.race([redis.ping().then((pong) => pong === 'PONG', () => false), timeout])
  } finally {
    clearTimeout(timer)
  }
}
