import type { Config, Region } from '../../shared/config.js'
import { bareMessageId, messageIdHash } from '../../shared/keys.js'
import { regionOfId } from '../../shared/queues.js'
import type { MessageRecord } from '../../shared/records.js'
import type { RegionLinks } from '../../shared/region-link.js'
import { partitionsOf } from './message-index.js'
import { findRecord } from './routes/messages.js'
import { ourIdOf } from './webhook-events.js'

/**
 * The records of the messages a Message-Id names, among the messages of `regions`. Ours
 * (`<local@domain>`) name their id, which costs one record read; a Message-Id the caller chose
 * (`/v3` `h:Message-Id`) is found through the key ingest writes for it in the message's partition
 * (messageIdHash), one GET per partition of each region. Usually one record; more only when a
 * caller gave one Message-Id to several messages in different regions.
 */
export async function findByMessageId (links: RegionLinks, config: Config, messageId: string, regions: readonly Region[]): Promise<MessageRecord[]> {
  const ours = ourIdOf(messageId, config.domains)
  if (ours !== null && regions.includes(regionOfId(ours))) {
    const record = await findRecord(links, ours)
    if (record && sameMessageId(record.messageId, messageId)) return [record]
  }
  const key = messageIdHash(messageId)
  const searched = (await partitionsOf(links, regions)).map((p) => links.get(p.region).storeRedis.get(p.keys.messageId(key)))
  const ids = new Set((await Promise.all(searched)).filter((id): id is string => id !== null))
  const records = await Promise.all([...ids].map((id) => findRecord(links, id)))
  return records.filter((r): r is MessageRecord => r !== null && sameMessageId(r.messageId, messageId))
}

/** Ours are lower case; a uuid copied in upper case still names the message. */
const sameMessageId = (a: string, b: string): boolean => bareMessageId(a).toLowerCase() === bareMessageId(b).toLowerCase()
