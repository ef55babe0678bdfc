import type { Job } from 'bullmq'
import { messageIdHash } from '../../shared/keys.js'
import type { StoredJob } from '../../shared/queues.js'
import type { Stack } from './stack.js'

/**
 * Writes the `created` index (every message by createdAt) and the Message-Id index of a stack's
 * messages, as ingest's add script writes them with each job: a stand-in while ingest does not
 * write them yet. Harmless once it does (the same ZADD and SET again). Finds the messages in the
 * queues and, for those already gone from it (sent, cancelled), in the outcome streams.
 */
export async function writeIngestIndexes (stack: Stack): Promise<void> {
  for (const link of stack.links.links.values()) {
    for (const partition of link.partitions()) {
      const { queue, keys } = partition
      const messages = new Map<string, { messageId: string, domain: string, createdAt: number }>()
      const jobs = await queue.getJobs(['wait', 'prioritized', 'delayed', 'active', 'failed', 'paused']) as Array<Job<StoredJob>>
      for (const j of jobs) messages.set(j.id as string, { messageId: j.data.messageId, domain: j.data.domain, createdAt: j.timestamp })
      for (const [, fields] of await link.storeRedis.xrange(keys.outcomes, '-', '+')) {
        const line = JSON.parse(fields[1] as string) as { id: string, messageId: string, domain: string, createdAt: string }
        messages.set(line.id, { messageId: line.messageId, domain: line.domain, createdAt: Date.parse(line.createdAt) })
      }
      for (const [id, m] of messages) {
        // Regions on one Redis share the outcome stream of the untagged layout.
        if (!id.startsWith(`${link.region}-`)) continue
        await link.storeRedis.zadd(keys.created, m.createdAt, id)
        // Only a Message-Id the caller chose is indexed: ours names the id.
        if (m.messageId !== `<${id.slice(3)}@${m.domain}>`) await link.storeRedis.set(keys.messageId(messageIdHash(m.messageId)), id)
      }
    }
  }
}
