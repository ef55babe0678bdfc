import type { Job } from 'bullmq'
import { toIso as iso } from './dates/index.js'
import type { PartitionKeys } from './keys.js'
import { luaScript } from './lua/index.js'
import { jobDataOf, type JobData, type StoredJob } from './queues.js'
import type { Region } from './config-schema.js'
import type { RedisClient } from './redis.js'

export type Status = 'queued' | 'scheduled' | 'sending' | 'retrying' | 'held' | 'sent' | 'failed' | 'cancelled'
export const FINAL_STATUSES: ReadonlySet<Status> = new Set(['sent', 'failed', 'cancelled'])

export interface HistoryEntry {
  attempt: number
  at: string
  outcome: 'retry' | 'sent' | 'failed'
  status: number | null
  error: string | null
  nextAttemptAt: string | null
}

export interface ProviderInfo {
  status: number
  id: string | null
  message: string | null
  /** The provider's Date header exactly as received. */
  date: string | null
}

export interface ProviderEvent { event: string, at: string, [k: string]: unknown }

/** CONTRACT.md "The message record". Every time is ISO 8601 UTC with milliseconds. */
export interface MessageRecord {
  id: string
  messageId: string
  domain: string
  region: Region
  status: Status
  attempts: number
  createdAt: string
  updatedAt: string
  sendAt?: string
  sentAt?: string
  sentAtSource?: 'provider' | 'local-clock'
  provider?: ProviderInfo
  error: string | null
  history: HistoryEntry[]
  events: ProviderEvent[]
}

/**
 * One outcome as stored: a line of its message's record and the outcome stream's entry. The last
 * line's fields are the record's; the lines' entries, in order, its history.
 */
type OutcomeLine = Omit<MessageRecord, 'history' | 'events'> & { entry?: HistoryEntry }

/** One transition of a message, as the worker (or a cancel) produces it. */
export interface Outcome {
  job: Pick<JobData, 'id' | 'messageId' | 'domain' | 'region' | 'createdAt' | 'sendAt'>
  status: Status
  attempts: number
  /** Epoch ms of the transition. */
  at: number
  /** The history entry of this transition; its `at` is the outcome's time. */
  entry?: Omit<HistoryEntry, 'at'>
  provider?: ProviderInfo
  sentAt?: string
  sentAtSource?: 'provider' | 'local-clock'
  error?: string | null
}

/**
 * Only failures are indexed: one entry per failed message (memory stays proportional to failures,
 * not traffic), so listing and replaying them needs no scan of every record. Entering `failed`
 * adds a message at its failure time; the only way out is a retry, which records `queued`.
 */
function failureIndexOp (o: Outcome): string {
  if (o.status === 'failed') return String(o.at)
  return o.status === 'queued' ? '-' : ''
}

/** One entry of a message index: the failed-message index or the index of every message by creation. */
export interface IndexEntry {
  id: string
  /** Epoch ms of the failure (failed), or of the message's creation (created). */
  at: number
}

/** The message indexes of a partition (see PartitionKeys). */
export type IndexName = 'failed' | 'created'

/** See RecordStore.outcomeWrite. */
export interface OutcomeWrite {
  line: string
  /** The counters hash field the outcome moves: `<status>|<region>|<domain>`. */
  counter: string
  ttlMs: number
  streamMaxlen: number
}

const counterField = (o: Outcome): string => `${o.status}|${o.job.region}|${o.job.domain}`

/** The outcome stream keeps about this many entries (XADD MAXLEN ~). */
const OUTCOME_STREAM_MAXLEN = 100_000
const RECORD_OUTCOMES = 'mqRecordOutcomes'
/** ioredis adds a method per defineCommand; numkeys comes first since the key count varies. */
type RecordCommands = Record<typeof RECORD_OUTCOMES, (numKeys: number, ...keysThenArgs: Array<string | number>) => Promise<unknown>>

export interface RecordStoreOptions {
  /** Reads and provider events. Not the queue connection: every pipeline there copies BullMQ's scripts. */
  redis: RedisClient
  /**
   * Outcome writes: the connection BullMQ moves this region's jobs on. Redis runs one connection's
   * commands in order, so an outcome written ahead of a job's move is stored before the move.
   */
  queueRedis: RedisClient
  /** The keys of the store's partition: every record it writes lives in that hash slot. */
  keys: PartitionKeys
  outcomeTtlDays: number
}

interface PendingWrite {
  outcome: Outcome
  /** Called once the outcome's script call is on the queue connection (writeAhead only). */
  sent?: () => void
  done: (err?: Error) => void
}

/**
 * Records live in Redis next to the queue: per message, a string of outcome lines and a list of
 * provider events, both with the outcome TTL. Outcomes written in one event-loop turn share one
 * script call.
 */
export class RecordStore {
  readonly #redis: RedisClient
  readonly #queueRedis: RecordCommands
  readonly #keys: PartitionKeys
  readonly #ttlMs: number
  #pending: PendingWrite[] = []

  constructor (o: RecordStoreOptions) {
    this.#redis = o.redis
    this.#keys = o.keys
    this.#ttlMs = Math.round(o.outcomeTtlDays * 86_400_000)
    if (!(RECORD_OUTCOMES in o.queueRedis)) o.queueRedis.defineCommand(RECORD_OUTCOMES, { lua: luaScript('recordOutcomes-3.lua') })
    this.#queueRedis = o.queueRedis as unknown as RecordCommands
  }

  /** Resolves once the outcome is in Redis (record, history, stream, counters, failure index). */
  async write (outcome: Outcome): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#enqueue({ outcome, done: (err) => err ? reject(err) : resolve() })
    })
  }

  /**
   * Resolves as soon as the outcome's write is on the queue connection, without waiting for the
   * round trip: a job move BullMQ sends after it (complete, fail, delay) runs after it in Redis.
   * The worker saves a round trip per batch this way. A write that fails after that goes to
   * `onFailure`.
   */
  async writeAhead (outcome: Outcome, onFailure: (err: Error) => void): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#enqueue({ outcome, sent: resolve, done: (err) => { if (err) onFailure(err) } })
    })
  }

  #enqueue (w: PendingWrite): void {
    if (this.#pending.length === 0) setImmediate(() => { void this.#flush() })
    this.#pending.push(w)
  }

  async #flush (): Promise<void> {
    const batch = this.#pending
    this.#pending = []
    const keys: string[] = [this.#keys.outcomes, this.#keys.stats, this.#keys.failed]
    const args: Array<string | number> = [this.#ttlMs, OUTCOME_STREAM_MAXLEN]
    const counters = new Map<string, number>()
    for (const { outcome: o } of batch) {
      keys.push(this.#keys.record(o.job.id))
      this.#append(args, o)
      const counter = counterField(o)
      counters.set(counter, (counters.get(counter) ?? 0) + 1)
    }
    for (const [field, by] of counters) args.push(field, by)
    const written = this.#queueRedis[RECORD_OUTCOMES](keys.length, ...keys, ...args)
    for (const b of batch) b.sent?.()
    try {
      await written
      for (const b of batch) b.done()
    } catch (err) {
      for (const b of batch) b.done(err as Error)
    }
  }

  /** One outcome's 3 ARGV values for recordOutcomes-3.lua (its header says which). */
  #append (args: Array<string | number>, o: Outcome): void {
    args.push(this.#line(o), failureIndexOp(o), o.job.id)
  }

  /**
   * An outcome for a script that records it itself, in the same call as a job move (an operator's
   * retry or cancel): its line (appended with includes/appendRecordLine.lua; also the stream
   * entry's `outcome`), the counter it moves, the record TTL and the stream's length.
   */
  outcomeWrite (o: Outcome): OutcomeWrite {
    return { line: this.#line(o), counter: counterField(o), ttlMs: this.#ttlMs, streamMaxlen: OUTCOME_STREAM_MAXLEN }
  }

  /** The record line of an outcome: the record's fields and the history entry it adds, if any. */
  #line (o: Outcome): string {
    const { job } = o
    const updatedAt = iso(o.at)
    const line: OutcomeLine = {
      id: job.id,
      messageId: job.messageId,
      domain: job.domain,
      region: job.region,
      status: o.status,
      attempts: o.attempts,
      createdAt: iso(job.createdAt),
      updatedAt,
      error: o.error ?? null
    }
    if (job.sendAt !== null) line.sendAt = iso(job.sendAt)
    if (o.sentAt) { line.sentAt = o.sentAt; line.sentAtSource = o.sentAtSource ?? 'provider' }
    if (o.provider) line.provider = o.provider
    const e = o.entry
    if (e) line.entry = { attempt: e.attempt, at: updatedAt, outcome: e.outcome, status: e.status, error: e.error, nextAttemptAt: e.nextAttemptAt }
    return JSON.stringify(line)
  }

  /**
   * A slice of one of the partition's message indexes, newest first (equal times by id,
   * descending): entries scored within [`min`, `max`] (numbers, or Redis bounds such as `(123` or
   * `-inf`), at most `count` of them (all when omitted).
   */
  async indexRange (index: IndexName, max: number | string, min: number | string, count?: number): Promise<IndexEntry[]> {
    const key = this.#keys[index]
    const raw = count === undefined
      ? await this.#redis.zrevrangebyscore(key, max, min, 'WITHSCORES')
      : await this.#redis.zrevrangebyscore(key, max, min, 'WITHSCORES', 'LIMIT', 0, count)
    const entries: IndexEntry[] = []
    for (let i = 0; i + 1 < raw.length; i += 2) entries.push({ id: raw[i] as string, at: Number(raw[i + 1]) })
    return entries
  }

  /** The stored record, or null when the worker has not written one yet. */
  async read (id: string): Promise<MessageRecord | null> {
    const k = this.#keys
    const res = await this.#redis.pipeline().get(k.record(id)).lrange(k.events(id), 0, -1).exec()
    const stored = res?.[0]?.[1] as string | null | undefined
    if (!stored) return null
    const lines = stored.split('\n').map((l) => JSON.parse(l) as OutcomeLine)
    const { entry: _, ...record } = lines[lines.length - 1] as OutcomeLine
    return {
      ...record,
      history: lines.flatMap((l) => l.entry ? [l.entry] : []),
      events: (res?.[1]?.[1] as string[]).map((s) => JSON.parse(s) as ProviderEvent)
    }
  }

  /** Adds a provider event (webhook) to a message's record. */
  async appendEvent (id: string, event: ProviderEvent): Promise<void> {
    await this.#redis.pipeline().rpush(this.#keys.events(id), JSON.stringify(event))
      .pexpire(this.#keys.events(id), this.#ttlMs).exec()
  }
}

/**
 * The record of a message the worker has not finished with, derived from its job: the queue is
 * the truth for waiting states, so nothing extra is written on the ingest path.
 */
export function recordFromJob (job: Job<StoredJob>, state: string, stored: MessageRecord | null): MessageRecord {
  const d = jobDataOf(job)
  const status = stateToStatus(state, job.attemptsMade, d, stored)
  const base: MessageRecord = stored ?? {
    id: d.id,
    messageId: d.messageId,
    domain: d.domain,
    region: d.region,
    status,
    attempts: 0,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.createdAt),
    error: null,
    history: [],
    events: []
  }
  const record = { ...base, status }
  if (d.sendAt !== null && !record.sendAt) record.sendAt = iso(d.sendAt)
  return record
}

function stateToStatus (state: string, attemptsMade: number, d: JobData, stored: MessageRecord | null): Status {
  if (state === 'active') return 'sending'
  if (state === 'failed') return 'failed'
  if (state === 'completed') return 'sent'
  if (stored && (stored.status === 'retrying' || stored.status === 'held')) return stored.status
  if (state === 'delayed') return attemptsMade > 0 ? 'retrying' : (d.sendAt !== null ? 'scheduled' : 'queued')
  return 'queued'
}
