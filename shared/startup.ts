import type { Config, Region, RedisTarget } from './config.js'
import type { Logger } from './logger.js'
import type { RegionLinks } from './region-link.js'
import { redisSafetyWarnings, serversOf } from './redis.js'

/** Entry files: says loudly, once per region, when its Redis could lose accepted mail. */
export async function warnAboutUnsafeRedis (links: RegionLinks, logger: Logger): Promise<void> {
  await Promise.all([...links.links.values()].map(async (l) => {
    try {
      if (l.storeRedis.status !== 'ready') await new Promise((resolve) => l.storeRedis.once('ready', resolve))
      for (const server of serversOf(l.storeRedis)) {
        for (const warning of await redisSafetyWarnings(server)) {
          logger.warn({ region: l.region, server: `${server.options.host ?? ''}:${server.options.port ?? ''}` }, `UNSAFE REDIS: ${warning}`)
        }
      }
    } catch (err) {
      logger.warn({ region: l.region, err }, 'could not check the Redis configuration')
    }
  }))
}

/** A Redis URL fit for a log line or banner: any password replaced by `***`. */
export function redactedRedisUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(an unparseable Redis URL)'
  }
}

/** A region's Redis for a start-up line: its URL, or `cluster` and its seed nodes; passwords hidden. */
export function describeTarget (target: RedisTarget): string {
  if (target.kind === 'single') return redactedRedisUrl(target.url)
  const user = target.username ?? ''
  const credentials = user || target.password ? `${user}${target.password ? ':***' : ''}@` : ''
  return `cluster ${target.tls ? 'rediss' : 'redis'}://${credentials}${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`
}

/** Which Redis each of these regions uses, passwords hidden: for start-up lines. */
export function redisByRegion (config: Config, regions: Iterable<Region>): Partial<Record<Region, string>> {
  return Object.fromEntries([...new Set(regions)].map((r) => [r, describeTarget(config.redis[r])]))
}

/** The same in one phrase: `redis://127.0.0.1:6379 (us, eu)`, one such part per distinct Redis. */
export function describeRedis (config: Config, regions: Iterable<Region>): string {
  const byUrl = new Map<string, Region[]>()
  for (const [region, url] of Object.entries(redisByRegion(config, regions)) as Array<[Region, string]>) {
    byUrl.set(url, [...byUrl.get(url) ?? [], region])
  }
  return [...byUrl].map(([url, regions]) => `${url} (${regions.join(', ')})`).join('; ')
}
