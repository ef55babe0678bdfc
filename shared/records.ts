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

/**
 * Where `sentAt` comes from: the provider's Date header, its `accepted` event (a send whose answer
 * was lost, verified in the Events API), or our own clock (a Date header with an unknown zone).
 */
export type SentAtSource = 'provider' | 'provider-event' | 'local-clock'

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
  sentAtSource?: SentAtSource
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
  sentAtSource?: SentAtSource
  error?: string | null
  /**
   * The held-message index: `enter` parks the message there (at `at`), and the outcome is written
   * only if it was not there already (held again after a recheck is no change of state); `leave`
   * takes it out. Absent: the index is left alone (the common case costs nothing).
   */
  held?: 'enter' | 'leave'
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

/**
 * An outcome as a line of its record (and its stream entry): the record's fields as of the outcome
 * and the history entry it adds. The one place lines are made.
 */
export function outcomeLine (o: Outcome): string {
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
/** Per-minute counters are read for the last hour; they go an hour after that. */
const MINUTE_COUNTERS_TTL_MS = 2 * 3_600_000
/** Outcomes counted per minute (the dashboard's chart). */
const PER_MINUTE: ReadonlySet<Status> = new Set(['sent', 'failed'])
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
    if (!(RECORD_OUTCOMES in o.queueRedis)) o.queueRedis.defineCommand(RECORD_OUTCOMES, { lua: luaScript('recordOutcomes-5.lua') })
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
    // One script call per minute the outcomes belong to: nearly always one.
    const byMinute = new Map<number, PendingWrite[]>()
    for (const w of batch) {
      const minute = Math.floor(w.outcome.at / 60_000)
      const group = byMinute.get(minute)
      if (group) group.push(w)
      else byMinute.set(minute, [w])
    }
    await Promise.all([...byMinute].map(async ([minute, group]) => { await this.#write(minute, group) }))
  }

  /** One script call for outcomes of one minute (recordOutcomes-5.lua; its header says what goes where). */
  async #write (minute: number, batch: PendingWrite[]): Promise<void> {
    const k = this.#keys
    const keys: string[] = [k.outcomes, k.stats, k.failed, k.held, k.minute(minute)]
    const args: Array<string | number> = [this.#ttlMs, OUTCOME_STREAM_MAXLEN, MINUTE_COUNTERS_TTL_MS, 0]
    const counters = new Map<string, number>()
    const perMinute = new Map<string, number>()
    const count = (map: Map<string, number>, field: string): void => { map.set(field, (map.get(field) ?? 0) + 1) }
    for (const { outcome: o } of batch) {
      keys.push(k.record(o.job.id))
      const counter = counterField(o)
      args.push(outcomeLine(o), failureIndexOp(o), o.job.id, o.held === 'enter' ? `+${o.at}|${counter}` : o.held === 'leave' ? '-' : '')
      // A parked message's counter moves in the script, and only if it was not parked already.
      if (o.held !== 'enter') count(counters, counter)
      if (PER_MINUTE.has(o.status)) count(perMinute, `${o.status}|${o.job.domain}`)
    }
    args[3] = counters.size
    for (const [field, by] of counters) args.push(field, by)
    for (const [field, by] of perMinute) args.push(field, by)
    const written = this.#queueRedis[RECORD_OUTCOMES](keys.length, ...keys, ...args)
    for (const b of batch) b.sent?.()
    try {
      await written
      for (const b of batch) b.done()
    } catch (err) {
      for (const b of batch) b.done(err as Error)
    }
  }

  /**
   * An outcome for a script that records it itself, in the same call as a job move (an operator's
   * retry or cancel): its line (appended with includes/appendRecordLine.lua; also the stream
   * entry's `outcome`), the counter it moves, the record TTL and the stream's length.
   */
  outcomeWrite (o: Outcome): OutcomeWrite {
    return { line: outcomeLine(o), counter: counterField(o), ttlMs: this.#ttlMs, streamMaxlen: OUTCOME_STREAM_MAXLEN }
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
