import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Config, Region } from './config.js'
import { createKeys, type Keys } from './keys.js'
import { queueName, type StoredJob } from './queues.js'
import { RecordStore } from './records.js'
import { createRedis, type RedisRole } from './redis.js'

/**
 * Everything one process holds for one region: its queue and record store, on two connections
 * to that region's Redis, so a region's data is only ever written to its own Redis. Two, because
 * every ioredis pipeline on the connection BullMQ defined its scripts on copies them all; outcome
 * writes still go on BullMQ's, so they run in order with the job moves that follow them.
 */
export interface RegionLink {
  readonly region: Region
  readonly queue: Queue<StoredJob>
  readonly store: RecordStore
  readonly keys: Keys
  /** For BullMQ (queue, worker) and outcome writes. */
  readonly queueRedis: Redis
  /** For record reads, idempotency, rates and holds. */
  readonly storeRedis: Redis
}

export interface RegionLinks {
  readonly links: ReadonlyMap<Region, RegionLink>
  get(region: Region): RegionLink
  close(): Promise<void>
}

export function openRegionLinks (config: Config, role: RedisRole, regions: Iterable<Region>): RegionLinks {
  const keys = createKeys(config.prefix)
  const links = new Map<Region, RegionLink>()
  for (const region of new Set(regions)) {
    const queueRedis = createRedis(config.redisUrl[region], role, `${role}-queue-${region}`)
    const storeRedis = createRedis(config.redisUrl[region], role, `${role}-store-${region}`)
    const queue = new Queue<StoredJob>(queueName(region), { connection: queueRedis, prefix: config.prefix })
    queue.on('error', () => {}) // surfaced through commands and /readyz
    const store = new RecordStore({ redis: storeRedis, queueRedis, keys, region, outcomeTtlDays: config.outcomeTtlDays })
    links.set(region, { region, queue, store, keys, queueRedis, storeRedis })
  }
  let closing: Promise<void> | null = null
  return {
    links,
    get (region) {
      const link = links.get(region)
      if (!link) throw new Error(`region ${region} is not open in this process`)
      return link
    },
    close () {
      closing ??= (async () => {
        await Promise.allSettled([...links.values()].map((l) => l.queue.close()))
        await Promise.allSettled([...links.values()].flatMap((l) => [l.queueRedis.quit(), l.storeRedis.quit()]))
      })()
      return closing
    }
  }
}

/** Regions that have at least one configured domain. */
export function configuredRegions (config: Config): Region[] {
  return [...new Set([...config.domains.values()].map((d) => d.region))]
}
