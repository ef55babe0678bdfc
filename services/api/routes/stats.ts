import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Clock } from '../../../shared/clock.js'
import type { ClientConfig, Config } from '../../../shared/config.js'
import { toIso } from '../../../shared/dates/index.js'
import { hashCounters, jobCounts, setSizes, type KeyRef } from '../../../shared/queue-stats.js'
import type { PartitionKeys } from '../../../shared/keys.js'
import type { RegionLink, RegionLinks } from '../../../shared/region-link.js'
import { ErrorSchema } from '../schemas/message.js'
import { StatsSchema, type RegionStats } from '../schemas/admin.js'

export interface StatsRouteOptions { config: Config, links: RegionLinks, clock: Clock }

/** Minutes of the per-minute series: the last hour, the current minute included. */
const MINUTES = 60

/**
 * GET /v1/stats: per region the client's domains live in, messages by state (region-wide, so only
 * for a client that may see every domain) and sent / failed per minute over the last hour (only
 * the client's domains). Everything is read from Redis as it is: queue counts, the held,
 * scheduled and failure indexes, and the per-minute counters the worker's outcomes increment.
 */
export const statsRoutes: FastifyPluginAsyncTypebox<StatsRouteOptions> = async (app, { config, links, clock }) => {
  app.addHook('onRequest', app.authenticate)

  app.get('/v1/stats', {
    schema: { summary: 'Messages by state and sent / failed per minute, per region', response: { 200: StatsSchema, '4xx': ErrorSchema } }
  }, async (req) => {
    const client = req.client
    const regions = [...new Set([...config.domains.values()].filter((d) => mayUse(client, d.name)).map((d) => d.region))]
    const now = clock.now()
    return { regions: await Promise.all(regions.map((r) => regionStats(links.get(r), config, client, now))) }
  })
}

const mayUse = (client: ClientConfig, domain: string): boolean => client.domains === '*' || client.domains.has(domain)

/** One key of every partition of a region, each with the connection to read it on. */
type PartitionRefs = (key: (k: PartitionKeys) => string) => KeyRef[]

async function regionStats (link: RegionLink, config: Config, client: ClientConfig, now: number): Promise<RegionStats> {
  // Every layout ever registered: messages may still wait in the partitions of an earlier QUEUE_PARTITIONS.
  await link.refreshLayouts()
  const partitions = link.partitions()
  const refs: PartitionRefs = (key) => partitions.map((p) => ({ redis: link.storeRedis, key: key(p.keys) }))
  // Regions sharing one Redis share the per-minute hashes: each counts its own domains only.
  const counts = (domain: string): boolean => config.domains.get(domain)?.region === link.region && mayUse(client, domain)
  const [states, perMinute] = await Promise.all([
    client.domains === '*' ? statesOf(link, refs) : null,
    perMinuteOf(refs, counts, now)
  ])
  return { region: link.region, states, perMinute }
}

async function statesOf (link: RegionLink, refs: PartitionRefs): Promise<NonNullable<RegionStats['states']>> {
  const [jobs, held, scheduled, failed] = await Promise.all([
    jobCounts(link.partitions().map((p) => p.queue), ['wait', 'prioritized', 'active', 'delayed']),
    setSizes(refs((k) => k.held)),
    setSizes(refs((k) => k.scheduled)),
    setSizes(refs((k) => k.failed))
  ])
  const n = (state: string): number => jobs.get(state) ?? 0
  return {
    queued: n('wait') + n('prioritized'),
    scheduled,
    sending: n('active'),
    // Held and scheduled messages wait in BullMQ's delayed set too.
    retrying: Math.max(0, n('delayed') - held - scheduled),
    held,
    failed
  }
}

/** Sent and failed per minute, oldest first; fields of the minute hashes are `<status>|<domain>`. */
async function perMinuteOf (refs: PartitionRefs, counts: (domain: string) => boolean, now: number): Promise<RegionStats['perMinute']> {
  const current = Math.floor(now / 60_000)
  const minutes = Array.from({ length: MINUTES }, (_, i) => current - MINUTES + 1 + i)
  return await Promise.all(minutes.map(async (minute) => {
    const totals = { sent: 0, failed: 0 }
    for (const [field, n] of await hashCounters(refs((k) => k.minute(minute)))) {
      const bar = field.indexOf('|')
      const status = field.slice(0, bar)
      if ((status === 'sent' || status === 'failed') && counts(field.slice(bar + 1))) totals[status] += n
    }
    return { minute: toIso(minute * 60_000), ...totals }
  }))
}
