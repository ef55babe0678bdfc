/**
 * How the API stores messages so that every answer tells the truth: each add is one script call
 * that is all or nothing (addMessages-13.lua) and fenced by a deadline Redis checks with its own
 * clock, so after that deadline the API knows what became of it, whatever Redis was doing.
 *
 *   stored    Redis answered the call: every message of it is in Redis.
 *   refused   not stored, for certain: Redis refused the call (full, read-only, loading, …), or
 *             no answer came by the deadline, so the call either never ran or will refuse.
 *   unknown   the connection broke after the call was sent and Redis could not be asked since.
 *
 * Assumption: Redis' clock is no more than CLOCK_SKEW_MS behind the API's (the start-up check of
 * shared/redis.ts warns when it is).
 */
import type { FastifyRequest } from 'fastify'
import type { Config, Region } from '../../shared/config.js'
import type { Metrics } from '../../shared/metrics.js'
import type { NewJob } from '../../shared/queues.js'
import type { Partition, RegionLinks } from '../../shared/region-link.js'
import { createRedis, type RedisClient } from '../../shared/redis.js'
import { addCall, jobBytes, runAdd, stageFiles, storedMessages, type AddCall } from './add-jobs.js'
import type { ClientRate } from './client-rate.js'
import { HttpError } from './errors.js'
import { after, Lane, readyBy } from './lane.js'

export type AddOutcome =
  | { kind: 'stored', /** false: it was there already (a replay). */ added: boolean }
  | { kind: 'refused' | 'unknown', error: unknown }

/** After a broken connection, how long past the deadline the API tries to ask Redis what it stored. */
const VERIFY_MS = 2000

/** Past this many messages or bytes, the single messages of a turn go at once (see AddCoalescer). */
const MAX_BATCH = 12
const MAX_BATCH_BYTES = 1_000_000

export interface Ingest {
  /** One message, sharing a call with others of the same event-loop turn. Never rejects. */
  add(job: NewJob): Promise<AddOutcome>
  /** Many: one call per partition; an outcome per job, in order. Never rejects. */
  addMany(jobs: readonly NewJob[]): Promise<AddOutcome[]>
  /** Whether each message is in Redis (job or record), for replays; rejects when Redis cannot say. */
  stored(ids: readonly string[]): Promise<boolean[]>
  close(): Promise<void>
}

/** What storing a request's messages takes. */
export interface Intake { ingest: Ingest, clientRate: ClientRate, metrics: Metrics }

/**
 * The client's rate for these messages (a 429 stores none), then the add: an outcome per job.
 * One message shares a call with others of its event-loop turn.
 */
export async function storeMessages ({ ingest, clientRate, metrics }: Intake, req: FastifyRequest, jobs: readonly NewJob[], now: number): Promise<AddOutcome[]> {
  if (jobs.length === 0) return []
  await clientRate.take(req.client, jobs.length, now)
  const outcomes = jobs.length === 1 ? [await ingest.add(jobs[0] as NewJob)] : await ingest.addMany(jobs)
  outcomes.forEach((o, i) => {
    const job = jobs[i] as NewJob
    if (o.kind === 'stored') {
      if (o.added) metrics.countAccepted(job.domain, job.region)
    } else {
      req.log.warn({ err: o.error, id: job.id, outcome: o.kind }, 'message not stored')
    }
  })
  return outcomes
}

/** One message: resolves once it is stored, else throws its 429 or 503. */
export async function storeMessage (intake: Intake, req: FastifyRequest, job: NewJob, now: number): Promise<void> {
  const [outcome] = await storeMessages(intake, req, [job], now) as [AddOutcome]
  if (outcome.kind !== 'stored') throw notStoredError(outcome)
}

/** The 503 for a message that was not stored: whether it surely was not, or may have been. */
export function notStoredError (outcome: Exclude<AddOutcome, { kind: 'stored' }>): HttpError {
  return new HttpError(outcome.kind === 'refused' ? 'MQ_ERR_UNAVAILABLE' : 'MQ_ERR_OUTCOME_UNKNOWN')
}

export function createIngest (config: Config, links: RegionLinks): Ingest {
  const lanes = new Map<Region, Lane>()
  for (const region of links.links.keys()) lanes.set(region, new Lane(createRedis(config.redis[region], 'ingest', `ingest-${region}`)))
  const coalescers = new Map<Partition, AddCoalescer>()

  /** One fenced script call for jobs of one partition. */
  async function send (partition: Partition, jobs: readonly NewJob[]): Promise<AddOutcome[]> {
    const link = links.get(partition.region)
    const lane = lanes.get(partition.region) as Lane
    try {
      await link.registerLayout()
    } catch (error) {
      return jobs.map(() => ({ kind: 'refused', error }))
    }
    let staging: string[]
    try {
      staging = await stage(lane, partition, jobs)
    } catch (error) {
      return jobs.map(() => ({ kind: 'refused', error }))
    }
    const call = addCall(partition, jobs, staging, config, Date.now())
    const outcome = await fenced(lane, call, () => storedMessages(link.storeRedis, partition, jobs.map((j) => j.id)), link.storeRedis)
    if (outcome.kind !== 'stored') return jobs.map(() => outcome)
    return outcome.added.map((added) => ({ kind: 'stored', added }))
  }

  async function partitionOf (id: string): Promise<Partition> {
    const partition = await links.resolve(id)
    if (!partition) throw new Error(`message ${id} names no partition of this process`)
    return partition
  }

  /** The indexes of these ids, by the partition each names. */
  async function byPartition (ids: readonly string[]): Promise<Map<Partition, number[]>> {
    const groups = new Map<Partition, number[]>()
    for (const [i, id] of ids.entries()) {
      const partition = await partitionOf(id)
      const list = groups.get(partition)
      if (list) list.push(i)
      else groups.set(partition, [i])
    }
    return groups
  }

  return {
    async add (job) {
      const partition = await partitionOf(job.id)
      let coalescer = coalescers.get(partition)
      if (!coalescer) coalescers.set(partition, coalescer = new AddCoalescer((jobs) => send(partition, jobs)))
      return await coalescer.add(job)
    },
    async addMany (jobs) {
      const outcomes: AddOutcome[] = []
      await Promise.all([...await byPartition(jobs.map((j) => j.id))].map(async ([partition, indexes]) => {
        const done = await send(partition, indexes.map((i) => jobs[i] as NewJob))
        indexes.forEach((i, k) => { outcomes[i] = done[k] as AddOutcome })
      }))
      return outcomes
    },
    async stored (ids) {
      const stored: boolean[] = ids.map(() => false)
      await Promise.all([...await byPartition(ids)].map(async ([partition, indexes]) => {
        const found = await storedMessages(links.get(partition.region).storeRedis, partition, indexes.map((i) => ids[i] as string))
        indexes.forEach((i, k) => { stored[i] = found[k] === true })
      }))
      return stored
    },
    async close () {
      await Promise.allSettled([...lanes.values()].map((l) => l.redis.quit()))
    }
  }
}

type StoredOrNot = { kind: 'stored', added: boolean[] } | { kind: 'refused' | 'unknown', error: unknown }

/**
 * Sends `call` with a deadline the script itself enforces (its notAfter), and waits exactly until
 * that deadline can no longer be met. `verify` says whether the call's messages are all in Redis:
 * asked (on `verifyRedis`) only when the connection broke with the call on it, as its answer may
 * be lost.
 */
async function fenced (lane: Lane, call: AddCall, verify: () => Promise<boolean[]>, verifyRedis: RedisClient): Promise<StoredOrNot> {
  const answer = await lane.run(call.bytes, (notAfter) => runAdd(lane.redis, call, notAfter))
  // An answer (ioredis may have sent the call again after a reconnect: then it found them there).
  if (answer.kind === 'answer') return { kind: 'stored', added: answer.value.map((n) => n === 1) }
  if (!answer.broke) {
    if (answer.kind === 'none') return { kind: 'refused', error: new Error('Redis did not answer by the deadline: the add wrote nothing') }
    if (notSent(answer.error)) return { kind: 'refused', error: answer.error }
  }
  // The connection broke with the call on it, which may have run. Past the deadline it cannot run
  // any more, so one look says what it did: it is all or nothing.
  const error = answer.kind === 'error' ? answer.error : new Error('the connection to Redis broke during the add')
  await after(answer.deadline)
  try {
    if (!await readyBy(verifyRedis, answer.deadline + VERIFY_MS)) return { kind: 'unknown', error }
    const stored = await verify()
    return stored.every(Boolean) ? { kind: 'stored', added: stored.map(() => true) } : { kind: 'refused', error }
  } catch {
    return { kind: 'unknown', error }
  }
}

/**
 * Uploads the files of these jobs (shared/files.ts): per job, its staging hash, or '' for none.
 * Rejects when an upload command fails or is not answered by its deadline (the add never runs).
 */
async function stage (lane: Lane, partition: Partition, jobs: readonly NewJob[]): Promise<string[]> {
  const staging: string[] = []
  for (const job of jobs) {
    staging.push(job.files.every((f) => f.content.length === 0) ? '' : await stageFiles(partition, job, async (bytes, command) => {
      const answer = await lane.run(bytes, () => command(lane.redis))
      if (answer.kind === 'none') throw new Error('Redis did not answer an upload by its deadline')
      if (answer.kind === 'error') throw answer.error
    }))
  }
  return staging
}

/**
 * An error Redis answered (it ran nothing: a full, read-only or loading Redis refuses the script
 * before it starts) or one raised before the call was written.
 */
function notSent (err: unknown): boolean {
  const e = err as { name?: string, message?: string }
  return e?.name === 'ReplyError' || /Stream isn't writeable/.test(e?.message ?? '')
}

interface PendingAdd { job: NewJob, resolve: (outcome: AddOutcome) => void }

/**
 * Single messages that arrive in the same event-loop turn go to Redis together, in one call:
 * one write and one read for all of them instead of one round trip each. Under load that halves
 * the system time of the API and of Redis; a lone message still goes alone, with no added wait.
 * Past MAX_BATCH messages (measured: 8 to 24 all do well; 4 pays too much per batch) or
 * MAX_BATCH_BYTES, a batch goes at once: Redis starts on it while the next one fills, and a large
 * message does not hold small ones to its pace.
 */
class AddCoalescer {
  #pending: PendingAdd[] = []
  #bytes = 0

  constructor (private readonly send: (jobs: NewJob[]) => Promise<AddOutcome[]>) {}

  async add (job: NewJob): Promise<AddOutcome> {
    return await new Promise<AddOutcome>((resolve) => {
      // setImmediate runs after the current turn's I/O callbacks: every request read in it joins.
      if (this.#pending.length === 0) setImmediate(() => { this.#flush() })
      this.#pending.push({ job, resolve })
      this.#bytes += jobBytes(job)
      if (this.#pending.length >= MAX_BATCH || this.#bytes >= MAX_BATCH_BYTES) this.#flush()
    })
  }

  #flush (): void {
    const batch = this.#pending
    if (batch.length === 0) return // already sent when it filled up
    this.#pending = []
    this.#bytes = 0
    this.send(batch.map((p) => p.job)).then(
      (outcomes) => { batch.forEach((p, i) => { p.resolve(outcomes[i] as AddOutcome) }) },
      (error: unknown) => { for (const p of batch) p.resolve({ kind: 'unknown', error }) })
  }
}
