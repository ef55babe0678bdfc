import type { JobType, Queue } from 'bullmq'
import type { RedisClient } from './redis.js'

/**
 * Cluster-wide figures read from Redis when /metrics is scraped (never on the ingest or send
 * path). Each function takes a list of queues or keys and sums or picks across them, so a region
 * spread over several queues (partitions) or counter keys reads the same way as one.
 */

/** A key and the connection to read it on. */
export interface KeyRef { redis: RedisClient, key: string }

/** Job counts by state, summed over the queues. */
export async function jobCounts (queues: readonly Queue[], states: readonly JobType[]): Promise<Map<string, number>> {
  const totals = new Map<string, number>(states.map((s) => [s, 0]))
  for (const counts of await Promise.all(queues.map((q) => q.getJobCounts(...states)))) {
    for (const [state, n] of Object.entries(counts)) totals.set(state, (totals.get(state) ?? 0) + n)
  }
  return totals
}

/** Hash counters (`HINCRBY` fields), summed field by field over the keys. */
export async function hashCounters (refs: readonly KeyRef[]): Promise<Map<string, number>> {
  const totals = new Map<string, number>()
  for (const hash of await Promise.all(refs.map((r) => r.redis.hgetall(r.key)))) {
    for (const [field, n] of Object.entries(hash)) {
      const value = Number(n)
      if (Number.isFinite(value)) totals.set(field, (totals.get(field) ?? 0) + value)
    }
  }
  return totals
}

/** Sorted-set sizes (`ZCARD`), summed over the keys. */
export async function setSizes (refs: readonly KeyRef[]): Promise<number> {
  const sizes = await Promise.all(refs.map((r) => r.redis.zcard(r.key)))
  return sizes.reduce((sum, n) => sum + n, 0)
}

/** The largest of the numbers stored at the keys (epoch ms timestamps), or null when none is set. */
export async function latestNumber (refs: readonly KeyRef[]): Promise<number | null> {
  const values = (await Promise.all(refs.map((r) => r.redis.get(r.key)))).map(Number).filter((n) => Number.isFinite(n) && n > 0)
  return values.length > 0 ? Math.max(...values) : null
}

/** The fields of the hashes at the keys (merged; a later key's field wins). */
export async function hashFields (refs: readonly KeyRef[]): Promise<Map<string, string>> {
  const merged = new Map<string, string>()
  for (const hash of await Promise.all(refs.map((r) => r.redis.hgetall(r.key)))) {
    for (const [field, value] of Object.entries(hash)) merged.set(field, value)
  }
  return merged
}

/** BullMQ's delayed-set score is the due time in ms times 0x1000 plus a counter. */
const DELAYED_SCORE_FACTOR = 0x1000

/**
 * Epoch ms since which the longest-waiting job of these queues has been ready to run and not
 * taken, or null when none waits. Three places hold such jobs: the wait list (taken from its
 * right end, so that end waited longest), the prioritized set (bulk jobs; lowest score first) and
 * the delayed set, whose due jobs stay there until a worker fetching work promotes them.
 */
export async function oldestWaitingSince (queues: readonly Queue[], now: number): Promise<number | null> {
  const since = await Promise.all(queues.map((q) => queueWaitingSince(q, now)))
  const known = since.filter((s): s is number => s !== null)
  return known.length > 0 ? Math.min(...known) : null
}

async function queueWaitingSince (queue: Queue, now: number): Promise<number | null> {
  // BullMQ types its connection narrowly; it is the ioredis client the queue was given.
  const redis = await queue.client as unknown as RedisClient
  const heads = await redis.multi()
    .lindex(queue.toKey('wait'), -1)
    .zrange(queue.toKey('prioritized'), 0, 0)
    .zrange(queue.toKey('delayed'), 0, 0, 'WITHSCORES')
    .exec()
  const [waitHead, prioritizedHead, delayedHead] = (heads ?? []).map(([err, value]) => err ? null : value) as [string | null, string[] | null, string[] | null]
  const candidates: number[] = []
  for (const id of [waitHead, prioritizedHead?.[0]]) {
    const since = id ? await readySince(redis, queue.toKey(id)) : null
    if (since !== null) candidates.push(Math.min(since, now))
  }
  const dueAt = delayedHead?.[1] === undefined ? NaN : Math.floor(Number(delayedHead[1]) / DELAYED_SCORE_FACTOR)
  if (dueAt <= now) candidates.push(dueAt)
  return candidates.length > 0 ? Math.min(...candidates) : null
}

/**
 * When a waiting job became ready: its creation plus the delay it was added with (a `sendAt`), or
 * the start of its last attempt when it has had one (a retry or deferral waited in the delayed set
 * since; BullMQ keeps no record of when it left it, so this can be early by that delay). Null when
 * the job is gone already.
 */
async function readySince (redis: RedisClient, jobKey: string): Promise<number | null> {
  const [timestamp, processedOn, opts] = await redis.hmget(jobKey, 'timestamp', 'processedOn', 'opts')
  if (timestamp === null) return null
  let delay = 0
  try { delay = Number((JSON.parse(opts ?? '{}') as { delay?: unknown }).delay ?? 0) || 0 } catch {}
  return Math.max(Number(timestamp) + delay, Number(processedOn ?? 0))
}
