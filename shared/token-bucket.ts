import { luaScript } from './lua/index.js'
import type { Lane } from './queues.js'
import type { RedisClient } from './redis.js'

/** A send's lane, for a bucket that puts transactional sends first (see takeRateToken-1.lua). */
export interface LaneTake { lane: Lane, reserveMs: number }

/**
 * Takes `cost` tokens (default 1) from the bucket at `key`: 0 when they were taken, else the
 * milliseconds to wait before asking again. The contract is in shared/lua/takeRateToken-1.lua.
 */
export type TakeTokens = (key: string, ratePerSecond: number, now: number, burstMs: number, maxSkewMs: number, cost?: number, lane?: LaneTake) => Promise<number>

const COMMAND = 'mqTakeRateToken'

type WithTakeCommand = RedisClient & {
  [COMMAND]: (key: string, ratePerSecond: number, now: number, burstMs: number, maxSkewMs: number, cost: number, lane: string, reserveMs: number) => Promise<number>
}

/** The token bucket on a connection it is given (the worker's per-domain rate, the API's per-client rate). */
export function tokenBucket (redis: RedisClient): TakeTokens {
  // defineCommand is idempotent per name; ioredis sends EVALSHA and falls back to EVAL once.
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: luaScript('takeRateToken-1.lua') })
  const r = redis as WithTakeCommand
  return async (key, ratePerSecond, now, burstMs, maxSkewMs, cost = 1, lane) =>
    Number(await r[COMMAND](key, ratePerSecond, Math.floor(now), burstMs, maxSkewMs, cost, lane?.lane ?? '', lane?.reserveMs ?? 0))
}
