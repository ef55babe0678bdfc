import { Job } from 'bullmq'
import type { RegionKeys } from './keys.js'
import { luaScript } from './lua/index.js'
import type { RedisClient } from './redis.js'
import type { Partition, RegionLink } from './region-link.js'

/** A paused domain (its key was rejected, or paused by hand) or region (it keeps failing). */
export interface Hold {
  reason: string
  /** ISO 8601 UTC. */
  since: string
  /**
   * For a domain hold: a short hash of the key and region it was set under, so a worker started
   * with a fixed key or region (a config reload) releases it by itself.
   */
  fingerprint?: string
  /** For a region hold: epoch ms from which the next probe may go, shared by every worker process. */
  probeAt?: number
  /** For a region hold: probes that failed so far (the next interval grows with them). */
  probes?: number
}

export type HoldScope = 'domain' | 'region'

/** Parked messages of a released region come back spread over this much, so a resume ramps up. */
export const REGION_RAMP_MS = 2000
/** Parked ids promoted per round of a release. */
const RELEASE_CHUNK = 500
const SET_IF_HELD = 'mqSetHoldIfHeld'
type HoldCommands = Record<typeof SET_IF_HELD, (key: string, field: string, json: string) => Promise<number>>

/**
 * Holds live in one Redis hash per region so every worker process and the API see the same
 * state. A message that meets a hold is parked: a delayed job due far later, listed in its
 * partition's held index (and, for a domain hold, in the domain's set); a release promotes them.
 */
export class HoldStore {
  readonly #redis: RedisClient & HoldCommands
  readonly #keys: RegionKeys
  readonly #link: Pick<RegionLink, 'partitionOf' | 'partitions'>
  constructor (link: Pick<RegionLink, 'storeRedis' | 'keys' | 'partitionOf' | 'partitions'>) {
    if (!(SET_IF_HELD in link.storeRedis)) link.storeRedis.defineCommand(SET_IF_HELD, { numberOfKeys: 1, lua: luaScript('setHoldIfHeld-1.lua') })
    this.#redis = link.storeRedis as RedisClient & HoldCommands
    this.#keys = link.keys
    this.#link = link
  }

  /** Sets a hold unless one is already there (the first reason, time and probe schedule win). */
  async hold (scope: HoldScope, name: string, reason: string, now: number, extra: Pick<Hold, 'fingerprint' | 'probeAt' | 'probes'> = {}): Promise<boolean> {
    const hold: Hold = { reason, since: new Date(now).toISOString(), ...extra }
    return await this.#redis.hsetnx(this.#keys.holds, `${scope}:${name}`, JSON.stringify(hold)) === 1
  }

  async get (scope: HoldScope, name: string): Promise<Hold | null> {
    const json = await this.#redis.hget(this.#keys.holds, `${scope}:${name}`)
    return json === null ? null : JSON.parse(json) as Hold
  }

  async all (): Promise<Map<string, Hold>> {
    const raw = await this.#redis.hgetall(this.#keys.holds)
    return new Map(Object.entries(raw).map(([field, json]) => [field, JSON.parse(json) as Hold]))
  }

  /** Rewrites a hold that is still there (a region's probe schedule); a hold lifted meanwhile stays lifted. */
  async update (scope: HoldScope, name: string, hold: Hold): Promise<void> {
    await this.#redis[SET_IF_HELD](this.#keys.holds, `${scope}:${name}`, JSON.stringify(hold))
  }

  /** Remembers a job parked by its domain's hold, so the domain's release finds it. */
  async rememberHeld (domain: string, jobId: string): Promise<void> {
    await this.#redis.sadd(this.#keys.heldJobs(domain), jobId)
  }

  /**
   * Lifts a hold and sends what it parked: a domain's jobs at once, a region's spread over
   * REGION_RAMP_MS, leaving those of held domains parked. Returns false when there was no such hold.
   */
  async release (scope: HoldScope, name: string): Promise<boolean> {
    const removed = await this.#redis.hdel(this.#keys.holds, `${scope}:${name}`) === 1
    if (scope === 'domain') {
      const key = this.#keys.heldJobs(name)
      const ids = await this.#redis.smembers(key)
      await this.#unparkIds(ids, 0)
      if (ids.length > 0) await this.#redis.srem(key, ...ids)
    } else {
      await this.releaseParked(REGION_RAMP_MS)
    }
    return removed
  }

  /**
   * Promotes every parked job of the region but those of domains still held: after a region
   * release, and to sweep up after a release that stopped half way.
   */
  async releaseParked (rampMs: number): Promise<void> {
    const stillHeld = new Set<string>()
    for (const field of (await this.all()).keys()) {
      if (field.startsWith('domain:')) for (const id of await this.#redis.smembers(this.#keys.heldJobs(field.slice('domain:'.length)))) stillHeld.add(id)
    }
    for (const partition of this.#link.partitions()) {
      const ids = (await this.#redis.zrange(partition.keys.held, 0, -1)).filter((id) => !stillHeld.has(id))
      for (let i = 0; i < ids.length; i += RELEASE_CHUNK) await unpark(partition, this.#redis, ids.slice(i, i + RELEASE_CHUNK), rampMs)
    }
  }

  async #unparkIds (ids: readonly string[], rampMs: number): Promise<void> {
    const byPartition = new Map<Partition, string[]>()
    for (const id of ids) {
      const partition = this.#link.partitionOf(id)
      if (partition) byPartition.set(partition, [...byPartition.get(partition) ?? [], id])
    }
    for (const [partition, list] of byPartition) {
      for (let i = 0; i < list.length; i += RELEASE_CHUNK) await unpark(partition, this.#redis, list.slice(i, i + RELEASE_CHUNK), rampMs)
    }
  }
}

/**
 * Sends parked jobs of one partition: each due within `rampMs` (at once for 0), and out of the held
 * index. A job no longer delayed (taken, sent, cancelled meanwhile) is only taken out of the index.
 */
export async function unpark (partition: Partition, redis: RedisClient, ids: readonly string[], rampMs: number, random = Math.random): Promise<void> {
  if (ids.length === 0) return
  await Promise.allSettled(ids.map(async (id) => {
    // Only the id is needed to move a delayed job: no read of its data.
    const job = new Job(partition.queue, 'send', {}, {}, id)
    await (rampMs > 0 ? job.changeDelay(Math.floor(random() * rampMs)) : job.promote())
  }))
  await redis.zrem(partition.keys.held, ...ids)
}
