/**
 * Per-domain send rate shared by every worker process (CONTRACT.md "Sending": "Per-domain
 * ratePerSecond holds across every worker process"). One Redis token bucket per domain, taken
 * atomically by shared/lua/takeRateToken-1.lua; the Lua header states the contract and how clock
 * skew between workers plays out. Uses the connection it is given and creates none.
 */
import type { Lane } from '../../shared/queues.js'
import type { RedisClient } from '../../shared/redis.js'
import { tokenBucket } from '../../shared/token-bucket.js'

/**
 * How long a transactional send that had to wait keeps bulk sends of its domain away past its
 * wait: enough for the deferred job to come back through the queue and take its token.
 */
const TRANSACTIONAL_RESERVE_MS = 250

export interface DomainRate {
  /**
   * Takes one token for domain; returns 0 when the send may go now, else ms to wait before trying
   * again. A bulk send gets none while transactional sends (the default lane) of the domain are
   * waiting for tokens.
   */
  take (domain: string, ratePerSecond: number, now: number, lane?: Lane): Promise<number>
  /** After a 429: halve the domain's effective rate for `forMs` (floor 1/s), so it slows down for a while. */
  slowDown (domain: string, forMs: number, now: number): Promise<void>
}

export interface DomainRateOptions {
  /**
   * How much sending the bucket may save up, in milliseconds of the domain's rate (never less
   * than one token). Any one-second window then sees at most rate * (1 + burstMs / 1000) sends.
   * @defaultValue 100 (at most 10 % over the rate in any second)
   */
  burstMs?: number
  /**
   * A bucket last refilled further in the future than this (by a worker whose clock is ahead)
   * restarts from the caller's `now` instead of stalling the domain.
   * @defaultValue 5000
   */
  maxClockSkewMs?: number
}

export function createDomainRate (redis: RedisClient, bucketKey: (domain: string) => string, opts: DomainRateOptions = {}): DomainRate {
  const burstMs = opts.burstMs ?? 100
  const maxSkewMs = opts.maxClockSkewMs ?? 5000
  if (!(burstMs >= 0) || !(maxSkewMs >= 0)) throw new RangeError('burstMs and maxClockSkewMs must be >= 0')
  const takeTokens = tokenBucket(redis)

  return {
    async take (domain, ratePerSecond, now, lane = 'transactional') {
      if (ratePerSecond === Infinity) return 0
      if (!(ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${ratePerSecond}`)
      return await takeTokens(bucketKey(domain), ratePerSecond, now, burstMs, maxSkewMs, 1, { lane, reserveMs: TRANSACTIONAL_RESERVE_MS })
    },
    async slowDown (domain, forMs, now) {
      const key = bucketKey(domain)
      // The bucket's own hash holds the slowdown, so one key (and one hash slot) per domain. Each
      // 429 restarts the window from its own `now`: with a fixed forMs the latest is also the longest.
      // The extra minute keeps a drained bucket of a slow domain from being forgotten early (this
      // PEXPIRE may replace a longer one set by take); an idle key costs a few bytes that long.
      const results = await redis.multi()
        .hset(key, 'slowUntil', String(Math.floor(now + forMs)))
        .pexpire(key, Math.ceil(Math.max(0, forMs)) + 60_000)
        .exec()
      if (results === null) throw new Error(`slowDown for ${domain}: transaction aborted`)
      for (const [err] of results) if (err) throw err
    }
  }
}
