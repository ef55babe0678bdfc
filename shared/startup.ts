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
