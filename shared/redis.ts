import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { RedisTarget } from './config.js'

/**
 * producer: the API's connections. No offline queue and short timeouts, so a read answers 503
 * within a second or two when Redis is away instead of hanging (BullMQ "going to production").
 * ingest: the API's connection for adds. As producer, but without a command timeout: an add that
 * timed out would still run once Redis resumes, so its deadline is a fence inside the script
 * (services/api/enqueue.ts waits exactly as long as that fence allows, whatever the size).
 * worker: blocking consumers; wait for Redis as long as it takes (maxRetriesPerRequest null).
 */
export type RedisRole = 'producer' | 'ingest' | 'worker'

const PRODUCER: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  retryStrategy: (times) => Math.min(100 * times, 1000)
}

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  producer: { ...PRODUCER, commandTimeout: 2000 },
  ingest: PRODUCER,
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
 * How far Redis' clock may lag the API's. An add is fenced by a deadline Redis checks with its own
 * clock (services/api/enqueue.ts); the API's wait past that deadline includes this much.
 */
export const CLOCK_SKEW_MS = 500

/**
 * What about this Redis could lose or misreport accepted mail: before Redis 7 the add script does
 * not even load; an eviction policy other than noeviction drops keys under memory pressure;
 * without an append-only file a restart loses recent writes; a clock more than CLOCK_SKEW_MS
 * behind this process's could let an add the API answered 503 for still be stored.
 */
export async function redisSafetyWarnings (redis: Redis): Promise<string[]> {
  const before = Date.now()
  const [seconds, micros] = await redis.time()
  const after = Date.now()
  const info = await redis.info()
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim()
  const warnings: string[] = []
  const major = Number(field('redis_version')?.split('.')[0])
  if (major < 7) warnings.push(`Redis ${field('redis_version') ?? ''} is older than 7.0, which mailqueue needs: messages cannot be stored`)
  const lag = (before + after) / 2 - (Number(seconds) * 1000 + Number(micros) / 1000)
  if (lag - (after - before) / 2 > CLOCK_SKEW_MS) {
    warnings.push(`Redis' clock is ${Math.round(lag)} ms behind this process's (more than ${CLOCK_SKEW_MS} ms): a message answered 503 might still be stored; synchronise the clocks (NTP)`)
  }
  const policy = field('maxmemory_policy')
  if (policy !== undefined && policy !== 'noeviction') {
    warnings.push(`Redis maxmemory-policy is "${policy}", not "noeviction": under memory pressure Redis deletes queued messages`)
  }
  if (field('aof_enabled') === '0') {
    warnings.push('Redis has no append-only file (appendonly no): a Redis restart loses recently accepted messages')
  }
  return warnings
}
