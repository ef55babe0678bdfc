import calculateSlot from 'cluster-key-slot'
import type { Config, Region } from './config.js'

/**
 * How a region's messages are spread over BullMQ queues (QUEUE_PARTITIONS). A queue is one hash
 * slot on a Redis Cluster, so one shard; several partitions, each under its own hash tag, spread
 * the work over the masters. `tagged` is false only for one partition on a single Redis, which
 * keeps the key names mailqueue has always used.
 */
export interface Layout { readonly count: number, readonly tagged: boolean }

/** Partition `index` of a layout of `count`; null stands for the untagged layout. */
export interface PartitionRef { readonly index: number, readonly count: number }

const SLOTS = 16384

export function layoutOf (config: Pick<Config, 'redis' | 'queuePartitions'>, region: Region): Layout {
  const count = config.queuePartitions
  return { count, tagged: count > 1 || config.redis[region].kind === 'cluster' }
}

/**
 * A message id is `<region>-<local>`, its Message-Id `<local@domain>`; `local` is a uuid, or
 * `<index>.<count>.<uuid>` in a tagged layout, so every lookup goes straight to its partition
 * whatever QUEUE_PARTITIONS says now.
 */
export function newLocalId (layout: Layout, uuid: string, index = Math.floor(Math.random() * layout.count)): string {
  return layout.tagged ? `${index}.${layout.count}.${uuid}` : uuid
}

const LOCAL_PARTITION = /^(\d{1,3})\.(\d{1,3})\./

/** The partition an id names; null for the untagged layout (and for ids that name none). */
export function partitionOfId (id: string): PartitionRef | null {
  const m = LOCAL_PARTITION.exec(id.slice(3))
  if (!m) return null
  const index = Number(m[1])
  const count = Number(m[2])
  return index < count ? { index, count } : null
}

export function partitionKey (ref: PartitionRef | null): string {
  return ref === null ? '-' : `${ref.index}.${ref.count}`
}

/**
 * Where a partition's keys live: `<prefix>` for the untagged layout, `<prefix>:{<tag>}` otherwise.
 * BullMQ's queue keys and every key of the partition's messages sit below it, in one hash slot.
 */
export function partitionSpace (prefix: string, region: Region, ref: PartitionRef | null): string {
  return ref === null ? prefix : `${prefix}:{${partitionTag(region, ref)}}`
}

const tags = new Map<string, string>()

/**
 * The hash tag of a partition: `<region>.<index>.<count>`, with a `~k` suffix chosen so that its
 * slot lies near the middle of the index-th of `count` equal slot ranges. Masters that hold equal
 * slot ranges (what `redis-cli --cluster create` and `--cluster rebalance` give) then get an equal
 * share of the partitions whenever `count` is a multiple of their number.
 */
export function partitionTag (region: Region, ref: PartitionRef): string {
  const base = `${region}.${ref.index}.${ref.count}`
  let tag = tags.get(base)
  if (tag !== undefined) return tag
  const width = SLOTS / ref.count
  const centre = (ref.index + 0.5) * width
  const reach = Math.max(1, width / 8)
  tag = base
  for (let k = 1; Math.abs(calculateSlot(tag) - centre) > reach; k++) tag = `${base}~${k}`
  tags.set(base, tag)
  return tag
}
