/**
 * A client's ingest rate (`clients[].ratePerSecond`), so one runaway application cannot fill the
 * queue for everyone. One Redis token bucket per client (shared/token-bucket.ts, the script the
 * worker's per-domain rate uses), so the rate holds across every API process; a message costs one
 * token, a batch of n costs n. A client without a rate costs nothing: no Redis call at all.
 */
import type { ClientConfig } from '../../shared/config.js'
import type { RedisClient } from '../../shared/redis.js'
import { tokenBucket } from '../../shared/token-bucket.js'
import { HttpError } from './errors.js'

export interface ClientRate {
  /** Takes `messages` tokens for the client, or throws a 429 HttpError with Retry-After. */
  take(client: ClientConfig, messages: number, now: number): Promise<void>
}

/** A client may save up one second of its rate, so a steady sender never sees a 429. */
const BURST_MS = 1000
/** Clock skew between API processes tolerated before a bucket restarts (see the script). */
const MAX_SKEW_MS = 5000

/** Where the buckets are: one Redis every API process uses. */
export interface ClientBuckets { redis: RedisClient, key: (client: string) => string }

/** `buckets`: null when no client has a rate. */
export function createClientRate (buckets: ClientBuckets | null): ClientRate {
  const takeTokens = buckets ? tokenBucket(buckets.redis) : null
  return {
    async take (client, messages, now) {
      if (client.ratePerSecond === null || messages === 0 || takeTokens === null || buckets === null) return
      const waitMs = await takeTokens(buckets.key(client.name), client.ratePerSecond, now, BURST_MS, MAX_SKEW_MS, messages)
      if (waitMs > 0) {
        throw new HttpError('MQ_ERR_RATE_LIMITED', `client "${client.name}" is over its rate of ${client.ratePerSecond} messages per second`,
          Math.max(1, Math.ceil(waitMs / 1000)))
      }
    }
  }
}
