import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { RegionLinks } from './region-link.js'

/**
 * Prometheus metrics. Outcome counts come from Redis (written with each outcome), so any API
 * process reports what every worker did; latency is measured in the process that sends.
 */
export interface Metrics {
  registry: Registry
  /** Counts one accepted message (label children cached: this runs on every ingest). */
  countAccepted(domain: string, region: string): void
  sendSeconds: Histogram<'region' | 'outcome'>
}

export function createMetrics (links: RegionLinks): Metrics {
  const registry = new Registry()
  const accepted = new Counter({ name: 'mailqueue_accepted_total', help: 'Messages accepted by this API process', labelNames: ['domain', 'region'] as const, registers: [registry] })
  const sendSeconds = new Histogram({
    name: 'mailqueue_send_duration_seconds', help: 'One HTTP attempt to Mailgun, by outcome', labelNames: ['region', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry]
  })
  new Gauge({
    name: 'mailqueue_outcomes', help: 'Outcomes recorded by all workers (sent, failed, retrying, held, cancelled, queued), by domain and region', labelNames: ['status', 'region', 'domain'] as const, registers: [registry],
    async collect () {
      this.reset()
      const totals = new Map<string, number>()
      await Promise.all([...links.links.values()].flatMap((l) => l.partitions().map(async (p) => {
        for (const [field, n] of Object.entries(await l.storeRedis.hgetall(p.keys.stats))) totals.set(field, (totals.get(field) ?? 0) + Number(n))
      })))
      for (const [field, n] of totals) {
        const [status = '', region = '', domain = ''] = field.split('|')
        this.set({ status, region, domain }, n)
      }
    }
  })
  new Gauge({
    name: 'mailqueue_queue_depth', help: 'Jobs in the queue by state', labelNames: ['region', 'state'] as const, registers: [registry],
    async collect () {
      this.reset()
      await Promise.all([...links.links.values()].flatMap((l) => l.partitions()).map(async (p) => {
        const counts = await p.queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'failed')
        for (const [state, n] of Object.entries(counts)) this.inc({ region: p.region, state }, n)
      }))
    }
  })
  const acceptedBy = new Map<string, Counter.Internal>()
  const countAccepted = (domain: string, region: string): void => {
    let child = acceptedBy.get(domain)
    if (!child) acceptedBy.set(domain, child = accepted.labels({ domain, region }))
    child.inc()
  }
  return { registry, countAccepted, sendSeconds }
}
