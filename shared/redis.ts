import { Redis, type RedisOptions } from 'ioredis'

/**
 * producer: the API's connections. No offline queue and short timeouts, so ingestion answers 503
 * within a second or two when Redis is away instead of hanging (BullMQ "going to production").
 * worker: blocking consumers; wait for Redis as long as it takes (maxRetriesPerRequest null).
 */
export type RedisRole = 'producer' | 'worker'

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  producer: {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * times, 1000)
  },
  worker: {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(200 * times, 2000)
  }
}

export function createRedis (url: string, role: RedisRole, name: string): Redis {
  const redis = new Redis(url, { ...ROLE_OPTIONS[role], connectionName: `mailqueue:${name}`, lazyConnect: false })
  // Errors surface through commands and /readyz; an unhandled 'error' event would crash the process.
  redis.on('error', () => {})
  return redis
}

/**
 * What about this Redis could lose accepted mail: an eviction policy other than noeviction drops
 * keys under memory pressure; without an append-only file a restart loses recent writes.
 */
export async function redisSafetyWarnings (redis: Redis): Promise<string[]> {
  const info = await redis.info()
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim()
  const warnings: string[] = []
  const policy = field('maxmemory_policy')
  if (policy !== undefined && policy !== 'noeviction') {
    warnings.push(`Redis maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis deletes queued messages`)
  }
  if (field('aof_enabled') === '0') {
    warnings.push('Redis has no append-only file (appendonly no): a Redis restart loses recently accepted messages')
  }
  return warnings
}
