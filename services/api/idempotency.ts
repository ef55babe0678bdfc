import type { RegionLink } from '../../shared/region-link.js'
import type { Accepted } from './schemas/message.js'

/** How long an Idempotency-Key is remembered (CONTRACT.md: 24 h). */
const IDEMPOTENCY_TTL_SECONDS = 86_400

/**
 * Claims (client, key) with this answer and runs `enqueue`, returning null; or, when the key was
 * seen before, returns the first answer and runs nothing. A failed enqueue releases the claim.
 */
export async function replayOrClaim (link: RegionLink, client: string, key: string, answer: Accepted,
  enqueue: () => Promise<void>): Promise<Accepted | null> {
  const redisKey = link.keys.idempotency(client, key)
  const claimed = await link.storeRedis.set(redisKey, JSON.stringify(answer), 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX')
  if (claimed !== 'OK') {
    const first = await link.storeRedis.get(redisKey)
    if (first) return JSON.parse(first) as Accepted
  }
  try {
    await enqueue()
  } catch (err) {
    await link.storeRedis.del(redisKey).catch(() => {})
    throw err
  }
  return null
}
