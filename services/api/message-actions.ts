import { changePriority } from 'bullmq/dist/esm/scripts/changePriority-7.js'
import { removeJob } from 'bullmq/dist/esm/scripts/removeJob-2.js'
import { reprocessJob } from 'bullmq/dist/esm/scripts/reprocessJob-8.js'
import { luaScript } from '../../shared/lua/index.js'
import type { MessageRecord, Outcome } from '../../shared/records.js'
import type { Partition } from '../../shared/region-link.js'
import type { RedisClient } from '../../shared/redis.js'

/**
 * An operator's actions on one message, each one Lua script in the message's hash slot that
 * checks the job's state, moves the job (with BullMQ's own scripts, pasted in) and appends the
 * record's line at once. Two actions on a message, or an action and the worker, therefore never
 * interleave: whatever runs first, the record ends telling what was sent.
 */

const RETRY = 'mqRetryFailed'
const CANCEL = 'mqCancelMessage'
const RETRY_LUA = luaScript('retryFailed-14.lua', { reprocessJob, changePriority })
const CANCEL_LUA = luaScript('cancelMessage-10.lua', { removeJob })

type Command = (...keysThenArgs: Array<string | number>) => Promise<number>
/** ioredis adds a method per defineCommand; cancel's key count varies, so numkeys comes first there. */
type ActionCommands = Record<typeof RETRY, Command> & Record<typeof CANCEL, (numKeys: number, ...keysThenArgs: Array<string | number>) => Promise<number>>

/** The queue's connection, BullMQ's own (as Queue.add uses it), with the two scripts defined. */
async function commandsOf (partition: Partition): Promise<ActionCommands> {
  // BullMQ types its connection narrowly; it is the ioredis client the queue was given.
  const redis = await partition.queue.client as unknown as RedisClient
  if (!(RETRY in redis)) {
    redis.defineCommand(RETRY, { lua: RETRY_LUA, numberOfKeys: 14 })
    redis.defineCommand(CANCEL, { lua: CANCEL_LUA })
  }
  return redis as unknown as ActionCommands
}

/**
 * The record line of a new status of the message and what goes with it, as the scripts'
 * ARGV[3..6] take them. Built from the record, so no action loads the job (and its files).
 */
function outcomeArgs (partition: Partition, r: MessageRecord, status: 'queued' | 'cancelled', attempts: number, now: number): Array<string | number> {
  const job: Outcome['job'] = {
    id: r.id, messageId: r.messageId, domain: r.domain, region: r.region, createdAt: Date.parse(r.createdAt), sendAt: r.sendAt === undefined ? null : Date.parse(r.sendAt)
  }
  const w = partition.store.outcomeWrite({ job, status, attempts, at: now, error: null })
  return [w.line, w.counter, w.ttlMs, w.streamMaxlen]
}

/** `queued`: requeued; `gone`: no such job any more (sent, cancelled or expired); `not-failed`: nothing done. */
export type RetryResult = 'queued' | 'gone' | 'not-failed'

/**
 * Dead-letter replay of one message: a failed job goes back to its lane with its attempts reset
 * and its record says `queued` (retryFailed-14.lua). Used by the single retry and the replay.
 */
export async function retryFailed (partition: Partition, record: MessageRecord, now: number): Promise<RetryResult> {
  const { queue, keys } = partition
  const { id } = record
  const redis = await commandsOf(partition)
  const result = await redis[RETRY](
    queue.toKey(id), ...['events', 'failed', 'wait', 'meta', 'paused', 'active', 'marker', 'prioritized', 'pc'].map((k) => queue.toKey(k)),
    keys.failed, keys.record(id), keys.outcomes, keys.stats,
    id, queue.toKey(''), ...outcomeArgs(partition, record, 'queued', 0, now))
  return result === 1 ? 'queued' : result === -1 ? 'gone' : 'not-failed'
}

/** `gone`: no such job any more (sent, cancelled or expired); `sending`: a worker has it. */
export type CancelResult = 'cancelled' | 'gone' | 'sending' | 'failed'

/** Cancels a message still waiting: its job and files go, its record says `cancelled` (cancelMessage-10.lua). */
export async function cancelWaiting (partition: Partition, record: MessageRecord, now: number): Promise<CancelResult> {
  const { queue, keys } = partition
  const { id } = record
  // Its files' hash (shared/files.ts), if it has one: it goes with the job.
  const files = [keys.files(id)]
  const redis = await commandsOf(partition)
  const jobKeys = [queue.toKey(id), ...['repeat', 'failed', 'completed', 'active'].map((k) => queue.toKey(k))]
  const ownKeys = [keys.scheduled, keys.held, keys.record(id), keys.outcomes, keys.stats, ...files]
  const result = await redis[CANCEL](jobKeys.length + ownKeys.length, ...jobKeys, ...ownKeys,
    id, queue.toKey(''), ...outcomeArgs(partition, record, 'cancelled', record.attempts, now))
  return result === 1 ? 'cancelled' : result === -1 ? 'gone' : result === -2 ? 'sending' : 'failed'
}
