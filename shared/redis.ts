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
