import { addDelayedJob } from 'bullmq/dist/esm/scripts/addDelayedJob-6.js'
import { addPrioritizedJob } from 'bullmq/dist/esm/scripts/addPrioritizedJob-9.js'
import { addStandardJob } from 'bullmq/dist/esm/scripts/addStandardJob-9.js'
import { randomUUID } from 'node:crypto'
import type { Config } from '../../shared/config.js'
import { chunkField } from '../../shared/files.js'
import { messageIdHash } from '../../shared/keys.js'
import { luaScript } from '../../shared/lua/index.js'
import { LANE_PRIORITY, storedJob, type NewJob } from '../../shared/queues.js'
import type { Partition } from '../../shared/region-link.js'
import type { RedisClient } from '../../shared/redis.js'

const ADD_MESSAGES = 'mqAddMessages'
type AddCommand = Record<typeof ADD_MESSAGES, (...keysThenArgs: Array<string | number>) => Promise<number[]>>

/** BullMQ's add scripts, pasted into the loop of addMessages-13.lua (its header says why). */
const ADD_MESSAGES_LUA = luaScript('addMessages-13.lua', { addStandardJob, addPrioritizedJob, addDelayedJob })

/** The queue KEYS of addMessages-13.lua; the partition's created and scheduled indexes follow. */
const QUEUE_KEYS = ['wait', 'paused', 'meta', 'id', 'completed', 'delayed', 'active', 'events', 'marker', 'prioritized', 'pc']

/** What the add needs of the configuration: the job options and how long a message may live. */
export type AddPolicy = Pick<Config, 'maxAttempts' | 'outcomeTtlDays' | 'outageLimitHours' | 'backoffCapMs'>

/** One script call's arguments for these jobs, and how many bytes it carries. */
export interface AddCall { args: Array<string | number>, bytes: number }

/**
 * The arguments of addMessages-13.lua for jobs of one partition: `staging[i]` is the hash job i's
 * files were uploaded to (stageFiles), '' for none; `now` trims the created index.
 */
export function addCall (partition: Partition, jobs: readonly NewJob[], staging: readonly string[], policy: AddPolicy, now: number): AddCall {
  const { queue, keys } = partition
  const recordTtlMs = policy.outcomeTtlDays * 86_400_000
  // ARGV[1], the deadline, is set when the call is sent (runAdd).
  const args: Array<string | number> = [...QUEUE_KEYS.map((name) => queue.toKey(name)), keys.created, keys.scheduled,
    0, JSON.stringify({ attempts: policy.maxAttempts, backoff: { type: 'policy' } }), queue.toKey(''), 'send',
    keys.record(''), keys.files(''), keys.messageId(''), Math.round(now - recordTtlMs)]
  let bytes = 0
  jobs.forEach((job, i) => {
    const delay = job.sendAt !== null && job.sendAt > job.createdAt ? job.sendAt - job.createdAt : 0
    args.push(job.id, job.createdAt, JSON.stringify(storedJob(job)), delay, LANE_PRIORITY[job.lane],
      Math.round(delay + lifetimeMs(policy) + recordTtlMs), callersMessageId(job) ? messageIdHash(job.messageId) : '', staging[i] ?? '', job.replay ? 1 : 0)
    bytes += jobBytes(job)
  })
  return { args, bytes }
}

/** About how many bytes a job's call carries: its fields (a text body can be megabytes; files go apart). */
export function jobBytes (job: NewJob): number {
  let bytes = 200
  for (const [name, value] of job.fields) bytes += name.length + value.length
  return bytes
}

/** A staging hash lives this long unless an add renames it into place. */
const STAGING_TTL_MS = 3_600_000
/** Bytes of chunks per HSET while uploading: small enough that Redis never stops long for one. */
const UPLOAD_BYTES = 1_000_000

/** Runs one upload command on the lane of a job's region, with its deadline; rejects when it fails. */
export type Upload = (bytes: number, command: (redis: RedisClient) => Promise<unknown>) => Promise<void>

/**
 * Uploads a job's files (at least one chunk) to a new staging hash of its partition, fields as in
 * shared/files.ts, a few chunks per command, and resolves its key once every chunk is in Redis;
 * rejects when a command fails (the add then never runs: the job is not stored). One command at
 * a time, so the API holds one command's copy of the bytes (ioredis joins a command's values),
 * never the whole file's.
 */
export async function stageFiles (partition: Partition, job: NewJob, upload: Upload): Promise<string> {
  const key = `${partition.keys.files(job.id)}:staging:${randomUUID()}`
  const commands: Array<{ fields: Array<string | Buffer>, bytes: number }> = [{ fields: [], bytes: 0 }]
  job.files.forEach((f, i) => {
    f.content.forEach((chunk, c) => {
      let command = commands[commands.length - 1] as { fields: Array<string | Buffer>, bytes: number }
      if (command.bytes >= UPLOAD_BYTES) commands.push(command = { fields: [], bytes: 0 })
      command.fields.push(chunkField(i, c), chunk)
      command.bytes += chunk.length
    })
  })
  for (const [i, { fields, bytes }] of commands.entries()) {
    // The first command sets the TTL too, in one transaction: no staging hash ever lives forever.
    await upload(bytes, (redis) => i === 0
      ? redis.multi().hset(key, ...fields).pexpire(key, STAGING_TTL_MS).exec().then(execResult)
      : redis.hset(key, ...fields))
  }
  return key
}

/** A transaction's replies, or its first error. */
function execResult (replies: Array<[Error | null, unknown]> | null): void {
  const failed = replies?.find(([err]) => err !== null)
  if (!replies || failed) throw failed?.[0] ?? new Error('transaction discarded')
}

/** Index of notAfter among a call's values (KEYS first). */
const NOT_AFTER = QUEUE_KEYS.length + 2

/**
 * Runs an add call on `redis`: resolves with 1 (added) or 0 (there already) per job, or rejects
 * as Redis does; an MQFENCED error means it reached Redis after `notAfter` and wrote nothing.
 */
export async function runAdd (redis: RedisClient, call: AddCall, notAfter: number): Promise<number[]> {
  if (!(ADD_MESSAGES in redis)) redis.defineCommand(ADD_MESSAGES, { lua: ADD_MESSAGES_LUA, numberOfKeys: QUEUE_KEYS.length + 2 })
  const args = call.args.slice()
  args[NOT_AFTER] = notAfter
  return await (redis as unknown as AddCommand)[ADD_MESSAGES](...args)
}

/**
 * Whether each message is stored: its job exists, or its record does (a sent or cancelled message
 * has no job any more). One round trip; every key is in the partition's slot.
 */
export async function storedMessages (redis: RedisClient, partition: Partition, ids: readonly string[]): Promise<boolean[]> {
  const pipeline = redis.pipeline()
  for (const id of ids) pipeline.exists(partition.queue.toKey(id), partition.keys.record(id))
  const replies = await pipeline.exec() ?? []
  return ids.map((_, i) => {
    const [err, count] = replies[i] ?? [new Error('no reply')]
    if (err) throw err
    return (count as number) > 0
  })
}

/**
 * How long a message may wait in the queue besides its sendAt: a region outage and every attempt's
 * longest backoff. Its files and Message-Id key live this long plus the record TTL, so a message
 * that failed keeps its files as long as its record (a retry sends them again).
 */
function lifetimeMs (policy: AddPolicy): number {
  return policy.outageLimitHours * 3_600_000 + policy.maxAttempts * policy.backoffCapMs
}

/** A Message-Id the caller chose, rather than our `<local@domain>` (which its id already says). */
function callersMessageId (job: NewJob): boolean {
  return job.messageId !== `<${job.id.slice(3)}@${job.domain}>`
}
