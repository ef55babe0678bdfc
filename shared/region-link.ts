import { Queue } from 'bullmq'
import { withoutSendEvents } from './bullmq-scripts.js'
import type { Config, Region } from './config.js'
import { partitionKeys, regionKeys, type PartitionKeys, type RegionKeys } from './keys.js'
import { layoutOf, partitionKey, partitionOfId, partitionSpace, type Layout, type PartitionRef } from './partitions.js'
import { queueName, type StoredJob } from './queues.js'
import { RecordStore } from './records.js'
import { createRedis, type RedisClient, type RedisRole } from './redis.js'

/** One BullMQ queue of a region and the keys of its messages, all in one hash slot. */
export interface Partition {
  readonly region: Region
  /** null: the untagged layout (one partition on a single Redis). */
  readonly ref: PartitionRef | null
  readonly queue: Queue<StoredJob>
  readonly store: RecordStore
  readonly keys: PartitionKeys
}

/**
 * Everything one process holds for one region: its partitions and region-wide keys, on two
 * connections to that region's Redis (or cluster), so a region's data is only ever written to its
 * own Redis. Two, because every ioredis pipeline on the connection BullMQ defined its scripts on
 * copies them all; outcome writes still go on BullMQ's, so they run in order with the job moves
 * that follow them (on a cluster: the same node connection, as a partition is one slot).
 */
export interface RegionLink {
  readonly region: Region
  readonly layout: Layout
  readonly keys: RegionKeys
  /** For BullMQ (queues, workers) and outcome writes. */
  readonly queueRedis: RedisClient
  /** For record reads, idempotency, rates and holds. */
  readonly storeRedis: RedisClient
  /** The partitions new messages go to: QUEUE_PARTITIONS of them. */
  readonly current: readonly Partition[]
  /** The partition of a message, from its id; null when the id names none this region knows. */
  partitionOf(id: string): Partition | null
  /** Every partition of every layout the region's messages were written with (refreshLayouts reads them). */
  partitions(): Partition[]
  /**
   * Records the current layout, so workers serve it even after QUEUE_PARTITIONS changes. Once per
   * process (a failure is retried on the next call): ingest awaits it before its first add.
   */
  registerLayout(): Promise<void>
  /** Reads the layouts ever registered; returns the partitions that were not known before. */
  refreshLayouts(): Promise<Partition[]>
}

export interface RegionLinks {
  readonly links: ReadonlyMap<Region, RegionLink>
  get(region: Region): RegionLink
  /** The partition of a message id, in the region the id names; null when unknown here. */
  partitionOf(id: string): Partition | null
  /** As partitionOf, but an id of a layout registered since the last look is found too. */
  resolve(id: string): Promise<Partition | null>
  close(): Promise<void>
}

/** Largest QUEUE_PARTITIONS a registered layout may have (the schema's maximum). */
const MAX_COUNT = 256

export function openRegionLinks (config: Config, role: RedisRole, regions: Iterable<Region>): RegionLinks {
  const links = new Map<Region, OwnedLink>()
  for (const region of new Set(regions)) links.set(region, openRegionLink(config, role, region))
  let closing: Promise<void> | null = null
  return {
    links,
    get (region) {
      const link = links.get(region)
      if (!link) throw new Error(`region ${region} is not open in this process`)
      return link
    },
    partitionOf (id) {
      return links.get(id.slice(0, 2) as Region)?.partitionOf(id) ?? null
    },
    async resolve (id) {
      const link = links.get(id.slice(0, 2) as Region)
      if (!link) return null
      const found = link.partitionOf(id)
      if (found || partitionOfId(id) === null) return found
      await link.refreshLayoutsSoon()
      return link.partitionOf(id)
    },
    close () {
      closing ??= Promise.allSettled([...links.values()].map((l) => l.close())).then(() => {})
      return closing
    }
  }
}

/** A lookup that misses re-reads the registered layouts at most this often. */
const LAYOUT_REFRESH_MS = 1000

interface OwnedLink extends RegionLink {
  /** refreshLayouts, unless it ran less than LAYOUT_REFRESH_MS ago. */
  refreshLayoutsSoon(): Promise<void>
  close(): Promise<void>
}

function openRegionLink (config: Config, role: RedisRole, region: Region): OwnedLink {
  const target = config.redis[region]
  const queueRedis = createRedis(target, role, `${role}-queue-${region}`)
  withoutSendEvents(queueRedis)
  const storeRedis = createRedis(target, role, `${role}-store-${region}`)
  const layout = layoutOf(config, region)
  const cluster = target.kind === 'cluster'
  const partitions = new Map<string, Partition>()

  function open (ref: PartitionRef | null): Partition {
    const name = partitionKey(ref)
    let partition = partitions.get(name)
    if (!partition) {
      const keys = partitionKeys(partitionSpace(config.prefix, region, ref), region)
      const queue = new Queue<StoredJob>(queueName(region), { connection: queueRedis, prefix: keys.space })
      queue.on('error', () => {}) // surfaced through commands and /readyz
      const store = new RecordStore({ redis: storeRedis, queueRedis, keys, outcomeTtlDays: config.outcomeTtlDays })
      partitions.set(name, partition = { region, ref, queue, store, keys })
    }
    return partition
  }

  /** A layout of `count` as stored in Redis: untagged only for one partition on a single Redis. */
  function layoutPartitions (count: number): Partition[] {
    if (count === 1 && !cluster) return [open(null)]
    return Array.from({ length: count }, (_, index) => open({ index, count }))
  }

  const current = layoutPartitions(layout.count)
  const keys = regionKeys(config.prefix, region)
  let lastRefresh = 0
  let registered: Promise<void> | null = null
  const link: OwnedLink = {
    region,
    layout,
    keys,
    queueRedis,
    storeRedis,
    current,
    partitionOf (id) {
      const ref = partitionOfId(id)
      if (ref === null) return cluster ? null : partitions.get(partitionKey(null)) ?? open(null)
      return partitions.get(partitionKey(ref)) ?? null
    },
    partitions: () => [...partitions.values()],
    registerLayout () {
      registered ??= storeRedis.sadd(keys.layouts, String(layout.count)).then(() => {}, (err: unknown) => {
        registered = null
        throw err
      })
      return registered
    },
    async refreshLayouts () {
      const known = new Set(partitions.values())
      for (const member of await storeRedis.smembers(keys.layouts)) {
        const count = Number(member)
        if (Number.isInteger(count) && count >= 1 && count <= MAX_COUNT) layoutPartitions(count)
      }
      return [...partitions.values()].filter((p) => !known.has(p))
    },
    async refreshLayoutsSoon () {
      if (Date.now() - lastRefresh < LAYOUT_REFRESH_MS) return
      lastRefresh = Date.now()
      await link.refreshLayouts()
    },
    async close () {
      await Promise.allSettled([...partitions.values()].map((p) => p.queue.close()))
      await Promise.allSettled([queueRedis.quit(), storeRedis.quit()])
    }
  }
  return link
}

/** Regions that have at least one configured domain. */
export function configuredRegions (config: Config): Region[] {
  return [...new Set([...config.domains.values()].map((d) => d.region))]
}
