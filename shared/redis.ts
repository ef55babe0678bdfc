import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { RedisTarget } from './config.js'

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

/** A connection to one Redis or to a Redis Cluster; BullMQ and every store take either. */
export type RedisClient = Redis | Cluster

export function createRedis (target: RedisTarget, role: RedisRole, name: string): RedisClient {
  const options: RedisOptions = { ...ROLE_OPTIONS[role], connectionName: `mailqueue:${name}`, lazyConnect: false }
  // The offline queue and retry strategy of a cluster are its own options, not its nodes'.
  const { enableOfflineQueue, retryStrategy, ...nodeOptions } = options
  const redis = target.kind === 'single'
    ? new Redis(target.url, options)
    : new Cluster(target.nodes.map((n) => ({ ...n })), {
      enableOfflineQueue: enableOfflineQueue ?? true,
      ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
      redisOptions: {
        ...nodeOptions,
        ...(target.username ? { username: target.username } : {}),
        ...(target.password ? { password: target.password.reveal() } : {}),
        ...(target.tls ? { tls: {} } : {})
      }
    })
  // Errors surface through commands and /readyz; an unhandled 'error' event would crash the process.
  redis.on('error', () => {})
  return redis
}

/** The masters of a cluster, or the one Redis: where a per-server check (INFO, CONFIG) must go. */
export function serversOf (redis: RedisClient): Redis[] {
  return redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis]
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
