import type { JobType, Queue } from 'bullmq'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { hashCounters, hashFields, jobCounts, latestNumber, oldestWaitingSince, type KeyRef } from './queue-stats.js'
import type { RegionLink, RegionLinks } from './region-link.js'

/**
 * Prometheus metrics, in two kinds:
 * - this process's own (every process): default process metrics (CPU, memory, event loop lag,
 *   GC), messages this API process accepted, send latency and duplicates avoided of this worker
 *   process;
 * - cluster-wide, read from Redis at scrape time (only where `createMetrics` is given the region
 *   links, that is the API): outcome counts of every worker, queue depth and lag, holds, the
 *   consumer heartbeat. Workers leave these out, so scraping API and workers never counts them
 *   twice; several API replicas report the same values (aggregate them with `max`, not `sum`).
 */
export interface Metrics {
  registry: Registry
  /** Counts one accepted message (label children cached: this runs on every ingest). */
  countAccepted(domain: string, region: string): void
  sendSeconds: Histogram<'region' | 'outcome'>
  /** Messages this worker process found accepted in Mailgun's events, after a lost answer: not sent twice. */
  duplicatesAvoided: Counter<'region' | 'domain'>
}

/** `cluster`: the region links to read cluster-wide values from; null in worker processes. */
export function createMetrics (cluster: RegionLinks | null): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const accepted = new Counter({ name: 'mailqueue_accepted_total', help: 'Messages accepted by this API process', labelNames: ['domain', 'region'] as const, registers: [registry] })
  const sendSeconds = new Histogram({
    name: 'mailqueue_send_duration_seconds', help: 'One HTTP attempt to Mailgun by this worker process, by outcome', labelNames: ['region', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry]
  })
  const duplicatesAvoided = new Counter({
    name: 'mailqueue_duplicates_avoided_total', help: 'Messages whose answer was lost that this worker process found accepted in Mailgun\'s events, so did not send again', labelNames: ['region', 'domain'] as const, registers: [registry]
  })
  if (cluster) registerClusterMetrics(registry, cluster)
  const acceptedBy = new Map<string, Counter.Internal>()
  const countAccepted = (domain: string, region: string): void => {
    let child = acceptedBy.get(domain)
    if (!child) acceptedBy.set(domain, child = accepted.labels({ domain, region }))
    child.inc()
  }
  return { registry, countAccepted, sendSeconds, duplicatesAvoided }
}

/** What the cluster-wide collectors read for one region: lists, one entry per partition where keys are per partition. */
interface RegionSource {
  region: string
  queues: readonly Queue[]
  /** Outcome counter hashes (fields `<status>|<region>|<domain>`). */
  outcomeCounters: readonly KeyRef[]
  /** Hold hashes (fields `domain:<name>` / `region:<name>`). */
  holds: readonly KeyRef[]
  /** Epoch ms when a worker last finished a job (the consumer heartbeat). */
  lastFinished: readonly KeyRef[]
}

/** The one place that knows how a region link maps onto the keys the collectors read. */
async function sourceOf (l: RegionLink): Promise<RegionSource> {
  // Every layout ever registered: messages may still wait in the partitions of an earlier QUEUE_PARTITIONS.
  await l.refreshLayouts()
  const partitions = l.partitions()
  const at = (key: string): KeyRef => ({ redis: l.storeRedis, key })
  return {
    region: l.region,
    queues: partitions.map((p) => p.queue),
    outcomeCounters: partitions.map((p) => at(p.keys.stats)),
    holds: [at(l.keys.holds)],
    lastFinished: [at(l.keys.progress)]
  }
}

const QUEUE_STATES: readonly JobType[] = ['wait', 'prioritized', 'delayed', 'active', 'failed']

/**
 * Reads every region, skipping one whose Redis does not answer (its series are absent from that
 * scrape rather than failing the whole of /metrics, process metrics included).
 */
async function perRegion<T> (links: RegionLinks, read: (s: RegionSource) => Promise<T>): Promise<Array<[RegionSource, T]>> {
  const settled = await Promise.allSettled([...links.links.values()].map(async (l) => {
    const source = await sourceOf(l)
    return [source, await read(source)] as [RegionSource, T]
  }))
  return settled.flatMap((r) => r.status === 'fulfilled' ? [r.value] : [])
}

/**
 * Each collector reads first and sets after, with no await in between: two scrapes at once
 * then each report the values read, never a mix.
 */
function registerClusterMetrics (registry: Registry, links: RegionLinks): void {
  new Counter({
    name: 'mailqueue_outcomes_total', help: 'Outcomes recorded by all workers (sent, failed, retrying, held, cancelled, queued), by domain and region', labelNames: ['status', 'region', 'domain'] as const, registers: [registry],
    async collect () {
      const read = await perRegion(links, (s) => hashCounters(s.outcomeCounters))
      this.reset()
      for (const [s, counters] of read) {
        for (const [field, n] of counters) {
          const [status = '', region = '', domain = ''] = field.split('|')
          // Regions sharing one Redis share the hash: each region counts its own fields only.
          if (region === s.region) this.inc({ status, region, domain }, n)
        }
      }
    }
  })
  new Gauge({
    name: 'mailqueue_queue_depth', help: 'Jobs in the queue by state', labelNames: ['region', 'state'] as const, registers: [registry],
    async collect () {
      const read = await perRegion(links, (s) => jobCounts(s.queues, QUEUE_STATES))
      this.reset()
      for (const [s, counts] of read) for (const [state, n] of counts) this.set({ region: s.region, state }, n)
    }
  })
  new Gauge({
    name: 'mailqueue_queue_oldest_waiting_seconds', help: 'How long the message waiting longest to be sent has been ready (queue lag), 0 when none waits', labelNames: ['region'] as const, registers: [registry],
    async collect () {
      const now = Date.now()
      const read = await perRegion(links, (s) => oldestWaitingSince(s.queues, now))
      this.reset()
      for (const [s, since] of read) this.set({ region: s.region }, since === null ? 0 : (now - since) / 1000)
    }
  })
  new Gauge({
    name: 'mailqueue_domain_held', help: '1 for each domain held (sending key rejected, or paused by hand); absent when not held', labelNames: ['domain'] as const, registers: [registry],
    async collect () {
      const read = await perRegion(links, (s) => hashFields(s.holds))
      this.reset()
      // A domain's hold sits in its region's hash, which regions sharing one Redis also share.
      for (const [, holds] of read) {
        for (const field of holds.keys()) if (field.startsWith('domain:')) this.set({ domain: field.slice('domain:'.length) }, 1)
      }
    }
  })
  new Gauge({
    name: 'mailqueue_region_held', help: '1 while the region is held for an outage (Mailgun keeps failing), else 0', labelNames: ['region'] as const, registers: [registry],
    async collect () {
      const read = await perRegion(links, (s) => hashFields(s.holds))
      this.reset()
      for (const [s, holds] of read) this.set({ region: s.region }, holds.has(`region:${s.region}`) ? 1 : 0)
    }
  })
  new Gauge({
    name: 'mailqueue_worker_last_finished_timestamp_seconds', help: 'When a worker last finished a job of the region (Unix time; 0 = never)', labelNames: ['region'] as const, registers: [registry],
    async collect () {
      const read = await perRegion(links, (s) => latestNumber(s.lastFinished))
      this.reset()
      for (const [s, at] of read) this.set({ region: s.region }, at === null ? 0 : at / 1000)
    }
  })
}
