import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ClientConfig, Config, Region } from '../../../shared/config.js'
import type { Clock } from '../../../shared/clock.js'
import { jobDataOf } from '../../../shared/queues.js'
import { FINAL_STATUSES, type FailedEntry, type MessageRecord } from '../../../shared/records.js'
import type { Partition, RegionLinks } from '../../../shared/region-link.js'
import { HttpError } from '../errors.js'
import { assertDomainAllowed } from '../plugins/auth.js'
import {
  CancelledSchema, DEFAULT_PAGE_SIZE, ListQuerySchema, MAX_PAGE_SIZE, RecordPageSchema, ReplayedSchema, ReplaySchema
} from '../schemas/admin.js'
import { AcceptedSchema, ErrorSchema } from '../schemas/message.js'
import { IdParamsSchema } from '../schemas/record.js'
import { findRecord } from './messages.js'

export interface MessageAdminRouteOptions { config: Config, links: RegionLinks, clock: Clock }

/** Queue states a message can be cancelled in: waiting, scheduled, bulk, or retrying/held (delayed). */
const CANCELLABLE = new Set(['waiting', 'delayed', 'prioritized'])
/** Index entries one listing request may look at before it answers with what it has and a cursor. */
const SCAN_BUDGET = 5000
/** Index entries read per Redis call, and records read (or replays started) at once. */
const CHUNK = 100
const REPLAY_CONCURRENCY = 20

/** Operations on messages: cancel, retry a failed one, list failures, replay a domain's failures. */
export const messageAdminRoutes: FastifyPluginAsyncTypebox<MessageAdminRouteOptions> = async (app, { config, links, clock }) => {
  app.addHook('onRequest', app.authenticate)

  /** The record if this client may see it; another domain's message is as unknown as a missing one. */
  async function visibleRecord (client: ClientConfig, id: string): Promise<{ record: MessageRecord, partition: Partition }> {
    const record = await findRecord(links, id)
    const partition = links.partitionOf(id)
    if (!record || !partition || !mayUse(client, record.domain)) throw new HttpError('MQ_ERR_NOT_FOUND', `message ${id}`)
    return { record, partition }
  }

  app.delete('/v1/messages/:id', {
    schema: { params: IdParamsSchema, response: { 200: CancelledSchema, '4xx': ErrorSchema } }
  }, async (req) => {
    const { id } = req.params
    const { record, partition } = await visibleRecord(req.client, id)
    const conflict = (): HttpError => new HttpError('MQ_ERR_CONFLICT', `message ${id} is ${record.status} and can no longer be cancelled`)
    if (FINAL_STATUSES.has(record.status) || record.status === 'sending') throw conflict()
    const job = await partition.queue.getJob(id)
    if (!job || !CANCELLABLE.has(await job.getState())) throw conflict()
    try {
      await job.remove()
    } catch {
      // Locked: a worker took it between the state check and the removal, so it is being sent.
      throw new HttpError('MQ_ERR_CONFLICT', `message ${id} is sending and can no longer be cancelled`)
    }
    await partition.store.write({ job: jobDataOf(job), status: 'cancelled', attempts: Math.max(record.attempts, job.attemptsMade), at: clock.now(), error: null })
    return { id, status: 'cancelled' as const }
  })

  app.post('/v1/messages/:id/retry', {
    schema: { params: IdParamsSchema, response: { 202: AcceptedSchema, '4xx': ErrorSchema } }
  }, async (req, reply) => {
    const { id } = req.params
    const { record, partition } = await visibleRecord(req.client, id)
    const result = await requeueFailed(partition, id, clock.now())
    if (result === 'gone' && record.status === 'failed') throw new HttpError('MQ_ERR_NOT_FOUND', `failed job of message ${id} (expired)`)
    if (result !== 'queued') throw new HttpError('MQ_ERR_CONFLICT', `message ${id} is ${record.status}; only a failed message can be retried`)
    return reply.code(202).send({ id, messageId: record.messageId, status: 'queued' as const })
  })

  // Only failures are listable: indexing every status would add a sorted-set write to each step
  // of every message (the hot path) and memory per message; failures are few and kept anyway.
  app.get('/v1/messages', {
    schema: { querystring: ListQuerySchema, response: { 200: RecordPageSchema, '4xx': ErrorSchema } }
  }, async (req) => {
    const q = req.query
    if (q.status !== 'failed') throw new HttpError('MQ_ERR_VALIDATION', 'status must be "failed"')
    const limit = q.limit === undefined ? DEFAULT_PAGE_SIZE : Number(q.limit)
    if (limit < 1 || limit > MAX_PAGE_SIZE) throw new HttpError('MQ_ERR_VALIDATION', `limit must be between 1 and ${MAX_PAGE_SIZE}`)
    const after = q.cursor === undefined ? null : decodeCursor(q.cursor)
    const domain = q.domain?.toLowerCase()
    if (domain !== undefined) assertDomainAllowed(req.client, domain)
    const partitions = regionsToSearch(config, req.client, domain).flatMap((r) => links.get(r).partitions())
    const wanted = (r: MessageRecord): boolean => r.status === 'failed' && (domain === undefined ? mayUse(req.client, r.domain) : r.domain === domain)

    const records: MessageRecord[] = []
    let last: FailedEntry | null = null
    let scanned = 0
    const entries = mergeNewestFirst(partitions.map((p) => scanFailed(p, '+inf', '-inf', after)))
    for await (const chunk of chunked(entries, Math.min(CHUNK, limit))) {
      const read = await Promise.all(chunk.map((e) => e.partition.store.read(e.id)))
      for (const [i, e] of chunk.entries()) {
        const r = read[i]
        if (r && wanted(r)) records.push(r)
        last = e
        scanned++
        if (records.length === limit || scanned >= SCAN_BUDGET) return { records, cursor: encodeCursor(last) }
      }
    }
    return { records, cursor: null }
  })

  app.post('/v1/messages/replay', {
    schema: { body: ReplaySchema, response: { 202: ReplayedSchema, '4xx': ErrorSchema } }
  }, async (req, reply) => {
    const domain = req.body.domain.toLowerCase()
    assertDomainAllowed(req.client, domain)
    const domainConfig = config.domains.get(domain)
    if (!domainConfig) throw new HttpError('MQ_ERR_NOT_FOUND', `domain ${domain}`)
    const from = req.body.from === undefined ? '-inf' : Date.parse(req.body.from)
    const to = req.body.to === undefined ? '+inf' : Date.parse(req.body.to)
    if (Number.isNaN(from) || Number.isNaN(to)) throw new HttpError('MQ_ERR_VALIDATION', 'from and to must be ISO 8601 instants')
    if (typeof from === 'number' && typeof to === 'number' && from > to) throw new HttpError('MQ_ERR_VALIDATION', 'from must not be later than to')
    const now = clock.now()
    let replayed = 0
    // The scan is keyset-paged, so requeueing (which takes entries out of the index) behind it
    // moves nothing it has yet to see.
    for (const partition of links.get(domainConfig.region).partitions()) {
      for await (const chunk of chunked(scanFailed(partition, to, from, null), CHUNK)) {
        const records = await Promise.all(chunk.map((e) => partition.store.read(e.id)))
        const ids = chunk.filter((_, i) => records[i]?.domain === domain).map((e) => e.id)
        for (let i = 0; i < ids.length; i += REPLAY_CONCURRENCY) {
          const results = await Promise.all(ids.slice(i, i + REPLAY_CONCURRENCY).map((id) => requeueFailed(partition, id, now)))
          replayed += results.filter((r) => r === 'queued').length
        }
      }
    }
    return reply.code(202).send({ replayed })
  })
}

const mayUse = (client: ClientConfig, domain: string): boolean => client.domains === '*' || client.domains.has(domain)

/** Regions whose index can hold what the caller may see: the domain's own, or those of its domains. */
function regionsToSearch (config: Config, client: ClientConfig, domain: string | undefined): Region[] {
  const known = domain === undefined ? undefined : config.domains.get(domain)
  if (known) return [known.region]
  // No domain: wherever the client's domains live. A domain no longer configured may still have
  // failures on record, so for one of those every region is searched.
  const domains = [...config.domains.values()].filter((d) => domain !== undefined || mayUse(client, d.name))
  return [...new Set(domains.map((d) => d.region))]
}

type Requeued = 'queued' | 'not-failed' | 'gone'

/**
 * Dead-letter replay: a failed job goes back to wait with its attempts reset (BullMQ keeps failed
 * jobs for the outcome TTL). Used by the single retry and the bulk replay alike.
 */
async function requeueFailed (partition: Partition, id: string, now: number): Promise<Requeued> {
  const { queue, store } = partition
  const job = await queue.getJob(id)
  if (!job) return 'gone'
  if (await job.getState() !== 'failed') return 'not-failed'
  const before = await store.read(id)
  // Written before the job can run: written after, it could land on top of the resend's outcome.
  await store.write({ job: jobDataOf(job), status: 'queued', attempts: 0, at: now, error: null })
  try {
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
    return 'queued'
  } catch (err) {
    // Expired or retried by another request since the state check.
    const state = await queue.getJobState(id)
    if ((state === 'failed' || state === 'unknown') && before?.status === 'failed') {
      // Put the failure back (record and index) as it was.
      await store.write({
        job: jobDataOf(job), status: 'failed', attempts: before.attempts, at: Date.parse(before.updatedAt), error: before.error,
        ...(before.provider ? { provider: before.provider } : {})
      })
    }
    if (state === 'failed') throw err
    return state === 'unknown' ? 'gone' : 'not-failed'
  }
}

/** An index entry and the partition it was found in. */
type Located = FailedEntry & { partition: Partition }

/**
 * A partition's failed-message index from newest to oldest, within [min, max], strictly after `after`
 * in that order (time descending, then id descending). Keyset-paged: each call starts below the
 * last time seen and reads that last millisecond whole, so entries removed or added meanwhile
 * never make it skip or repeat one, and any number of failures in one millisecond is fine.
 */
async function * scanFailed (partition: Partition, max: number | string, min: number | string, after: FailedEntry | null): AsyncGenerator<Located> {
  const range = async (top: number | string, bottom: number | string, count?: number): Promise<Located[]> =>
    (await partition.store.failedRange(top, bottom, count)).map((e) => ({ ...e, partition }))
  let top: number | string = max
  if (after) {
    for (const e of await range(after.at, after.at)) if (e.id < after.id) yield e
    top = `(${after.at}`
  }
  for (;;) {
    const page = await range(top, min, CHUNK)
    const lastAt = page.at(-1)?.at
    if (lastAt === undefined) return
    for (const e of page) if (e.at !== lastAt) yield e
    yield * await range(lastAt, lastAt)
    if (page.length < CHUNK) return
    top = `(${lastAt}`
  }
}

const newer = (a: FailedEntry, b: FailedEntry): boolean => a.at > b.at || (a.at === b.at && a.id > b.id)

/** Merges per-partition scans into one order, so a cursor means the same across partitions and regions. */
async function * mergeNewestFirst (scans: Array<AsyncGenerator<Located>>): AsyncGenerator<Located> {
  const heads = await Promise.all(scans.map((s) => s.next()))
  for (;;) {
    let best = -1
    for (const [i, h] of heads.entries()) {
      const current = heads[best]
      if (!h.done && (!current || current.done || newer(h.value, current.value))) best = i
    }
    const head = heads[best]
    if (!head || head.done) return
    yield head.value
    heads[best] = await (scans[best] as AsyncGenerator<Located>).next()
  }
}

async function * chunked<T> (source: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = []
  for await (const item of source) {
    chunk.push(item)
    if (chunk.length === size) { yield chunk; chunk = [] }
  }
  if (chunk.length > 0) yield chunk
}

/** Cursor: the last index entry a page looked at, as base64url JSON; opaque to clients. */
function encodeCursor (e: FailedEntry): string {
  return Buffer.from(JSON.stringify({ at: e.at, id: e.id })).toString('base64url')
}

function decodeCursor (cursor: string): FailedEntry {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { at?: unknown, id?: unknown }
    if (typeof v.at === 'number' && Number.isFinite(v.at) && typeof v.id === 'string') return { at: v.at, id: v.id }
  } catch {}
  throw new HttpError('MQ_ERR_VALIDATION', 'cursor is not valid')
}
