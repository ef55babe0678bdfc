import type { RegionKeys } from './keys.js'
import type { RedisClient } from './redis.js'
import type { RegionLink } from './region-link.js'

/** A paused domain (its key was rejected) or region (it keeps failing). */
export interface Hold {
  reason: string
  /** ISO 8601 UTC. */
  since: string
  /**
   * For a domain hold: a short hash of the key and region it was set under, so a worker started
   * with a fixed key or region (a config reload) releases it by itself.
   */
  fingerprint?: string
}

export type HoldScope = 'domain' | 'region'

/**
 * Holds live in one Redis hash per region so every worker process and the API see the same
 * state. Jobs deferred by a domain hold are remembered so a resume can send them at once.
 */
export class HoldStore {
  readonly #redis: RedisClient
  readonly #keys: RegionKeys
  readonly #link: Pick<RegionLink, 'partitionOf'>
  constructor (link: Pick<RegionLink, 'storeRedis' | 'keys' | 'partitionOf'>) {
    this.#redis = link.storeRedis
    this.#keys = link.keys
    this.#link = link
  }

  /** Sets a hold unless one is already there (the first reason and time win). */
  async hold (scope: HoldScope, name: string, reason: string, now: number, fingerprint?: string): Promise<boolean> {
    const hold: Hold = { reason, since: new Date(now).toISOString(), ...(fingerprint ? { fingerprint } : {}) }
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

  /** Remembers a job deferred by its domain's hold. */
  async rememberHeld (domain: string, jobId: string): Promise<void> {
    await this.#redis.sadd(this.#keys.heldJobs(domain), jobId)
  }

  /**
   * Lifts a hold; for a domain, the jobs it deferred are promoted so they send now. Returns false
   * when there was no such hold.
   */
  async release (scope: HoldScope, name: string): Promise<boolean> {
    const removed = await this.#redis.hdel(this.#keys.holds, `${scope}:${name}`)
    if (scope === 'domain') {
      const ids = await this.#redis.smembers(this.#keys.heldJobs(name))
      await Promise.allSettled(ids.map(async (id) => {
        const job = await this.#link.partitionOf(id)?.queue.getJob(id)
        if (job && await job.isDelayed()) await job.promote()
      }))
      if (ids.length > 0) await this.#redis.srem(this.#keys.heldJobs(name), ...ids)
    }
    return removed === 1
  }
}
