import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ClientConfig, Config, Region } from '../../../shared/config.js'
import type { Clock } from '../../../shared/clock.js'
import { FINAL_STATUSES, type IndexEntry, type MessageRecord, type Status } from '../../../shared/records.js'
import type { Partition, RegionLinks } from '../../../shared/region-link.js'
import { HttpError } from '../errors.js'
import { cancelWaiting, retryFailed } from '../message-actions.js'
import { chunked, decodeCursor, encodeCursor, mergeNewestFirst, partitionsOf, scanIndex, type Located } from '../message-index.js'
import { findByMessageId } from '../message-lookup.js'
import { assertDomainAllowed } from '../plugins/auth.js'
import {
  CancelledSchema, DEFAULT_PAGE_SIZE, ListQuerySchema, MAX_PAGE_SIZE, RecordPageSchema, ReplayedSchema, ReplaySchema, STATUSES
} from '../schemas/admin.js'
import { AcceptedSchema, ErrorSchema } from '../schemas/message.js'
import { IdParamsSchema } from '../schemas/record.js'
import { findRecord, readRecord } from './messages.js'

export interface MessageAdminRouteOptions { config: Config, links: RegionLinks, clock: Clock }

/** Index entries one listing request may look at before it answers with what it has and a cursor. */
const SCAN_BUDGET = 5000
/** Records read (or replays started) at once. */
const CHUNK = 100
const REPLAY_CONCURRENCY = 20

/**
 * Operations on messages: cancel, retry a failed one, list any status, find by Message-Id, replay
 * a domain's failures. Cancel and retry are each one script in the message's hash slot
 * (message-actions.ts), so they never interleave with each other or with the worker.
 */
export const messageAdminRoutes: FastifyPluginAsyncTypebox<MessageAdminRouteOptions> = async (app, { config, links, clock }) => {
  app.addHook('onRequest', app.authenticate)

  /** The record if this client may see it; another domain's message is as unknown as a missing one. */
  async function visibleRecord (client: ClientConfig, id: string): Promise<{ record: MessageRecord, partition: Partition }> {
    const record = await findRecord(links, id)
    const partition = links.partitionOf(id)
    if (!record || !partition || !mayUse(client, record.domain)) throw new HttpError('MQ_ERR_NOT_FOUND', `message ${id}`)
    return { record, partition }
  }

  /** The status a message has now, for a refusal that says why. */
  const statusNow = async (id: string, before: MessageRecord): Promise<Status> => (await findRecord(links, id) ?? before).status

  app.delete('/v1/messages/:id', {
    schema: { summary: 'Cancel a message not sent yet', params: IdParamsSchema, response: { 200: CancelledSchema, '4xx': ErrorSchema } }
  }, async (req) => {
    const { id } = req.params
    const { record, partition } = await visibleRecord(req.client, id)
    const conflict = (status: Status): HttpError => new HttpError('MQ_ERR_CONFLICT', `message ${id} is ${status} and can no longer be cancelled`)
    if (FINAL_STATUSES.has(record.status) || record.status === 'sending') throw conflict(record.status)
    const result = await cancelWaiting(partition, record, clock.now())
    if (result === 'cancelled') return { id, status: 'cancelled' as const }
    throw conflict(result === 'sending' ? 'sending' : await statusNow(id, record))
  })

  app.post('/v1/messages/:id/retry', {
    schema: { summary: 'Requeue a failed message', params: IdParamsSchema, response: { 202: AcceptedSchema, '4xx': ErrorSchema } }
  }, async (req, reply) => {
    const { id } = req.params
    const { record, partition } = await visibleRecord(req.client, id)
    const result = await retryFailed(partition, record, clock.now())
    if (result === 'queued') return reply.code(202).send({ id, messageId: record.messageId, status: 'queued' as const })
    const status = await statusNow(id, record)
    if (status === 'failed' && result === 'gone') throw new HttpError('MQ_ERR_NOT_FOUND', `failed job of message ${id} (expired)`)
    // Failed on record but not yet in BullMQ's failed set: the worker is between its outcome and the job's move.
    if (status === 'failed') throw new HttpError('MQ_ERR_CONFLICT', `message ${id} is still being failed by a worker; retry in a moment`)
    throw new HttpError('MQ_ERR_CONFLICT', `message ${id} is ${status}; only a failed message can be retried`)
  })

  app.get('/v1/messages', {
    schema: {
      summary: 'List messages of any status newest first, or find messages by Message-Id',
      querystring: ListQuerySchema,
      response: { 200: RecordPageSchema, '4xx': ErrorSchema }
    }
  }, async (req) => {
    const q = req.query
    if (q.status !== undefined && !(STATUSES as readonly string[]).includes(q.status)) throw new HttpError('MQ_ERR_VALIDATION', `status must be one of ${STATUSES.join(', ')}`)
    const status = q.status as Status | undefined
    const limit = q.limit === undefined ? DEFAULT_PAGE_SIZE : Number(q.limit)
    if (limit < 1 || limit > MAX_PAGE_SIZE) throw new HttpError('MQ_ERR_VALIDATION', `limit must be between 1 and ${MAX_PAGE_SIZE}`)
    const domain = q.domain?.toLowerCase()
    if (domain !== undefined) assertDomainAllowed(req.client, domain)
    const regions = regionsToSearch(config, req.client, domain)
    const wanted = (r: MessageRecord): boolean => (status === undefined || r.status === status) && (domain === undefined ? mayUse(req.client, r.domain) : r.domain === domain)

    if (q.messageId !== undefined) {
      if (q.cursor !== undefined) throw new HttpError('MQ_ERR_VALIDATION', 'cursor does not go with messageId: a Message-Id names at most a few messages')
      return { records: (await findByMessageId(links, config, q.messageId, regions)).filter(wanted), cursor: null }
    }
    const after = q.cursor === undefined ? null : decodeCursor(q.cursor)
    // Failures by failure time, from their own index; anything else by creation, from the index
    // of every message, where a final status is told by the record alone (one read per entry).
    const index = status === 'failed' ? 'failed' : 'created'
    const read = status !== undefined && FINAL_STATUSES.has(status)
      ? (e: Located) => e.partition.store.read(e.id)
      : (e: Located) => readRecord(e.partition, e.id)
    const entries = mergeNewestFirst((await partitionsOf(links, regions)).map((p) => scanIndex(p, index, '+inf', '-inf', after)))
    const records: MessageRecord[] = []
    let last: IndexEntry | null = null
    let scanned = 0
    for await (const chunk of chunked(entries, Math.min(CHUNK, limit))) {
      const found = await Promise.all(chunk.map(read))
      for (const [i, e] of chunk.entries()) {
        const r = found[i]
        if (r && wanted(r)) records.push(r)
        last = e
        scanned++
        if (records.length === limit || scanned >= SCAN_BUDGET) return { records, cursor: encodeCursor(last) }
      }
    }
    return { records, cursor: null }
  })

  app.post('/v1/messages/replay', {
    schema: { summary: 'Requeue every failed message of a domain in a time range', body: ReplaySchema, response: { 202: ReplayedSchema, '4xx': ErrorSchema } }
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
    for (const partition of await partitionsOf(links, [domainConfig.region])) {
      for await (const chunk of chunked(scanIndex(partition, 'failed', to, from, null), CHUNK)) {
        const records = (await Promise.all(chunk.map((e) => partition.store.read(e.id)))).filter((r): r is MessageRecord => r?.domain === domain)
        for (let i = 0; i < records.length; i += REPLAY_CONCURRENCY) {
          const results = await Promise.all(records.slice(i, i + REPLAY_CONCURRENCY).map((r) => retryFailed(partition, r, now)))
          replayed += results.filter((r) => r === 'queued').length
        }
      }
    }
    return reply.code(202).send({ replayed })
  })
}

const mayUse = (client: ClientConfig, domain: string): boolean => client.domains === '*' || client.domains.has(domain)

/** Regions whose indexes can hold what the caller may see: the domain's own, or those of its domains. */
function regionsToSearch (config: Config, client: ClientConfig, domain: string | undefined): Region[] {
  const known = domain === undefined ? undefined : config.domains.get(domain)
  if (known) return [known.region]
  // No domain: wherever the client's domains live. A domain no longer configured may still have
  // messages on record, so for one of those every region is searched.
  const domains = [...config.domains.values()].filter((d) => domain !== undefined || mayUse(client, d.name))
  return [...new Set(domains.map((d) => d.region))]
}
