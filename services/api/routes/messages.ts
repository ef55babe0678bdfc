import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { Config } from '../../../shared/config.js'
import type { Clock } from '../../../shared/clock.js'
import type { NewJob } from '../../../shared/queues.js'
import { FINAL_STATUSES, recordFromJob, type MessageRecord } from '../../../shared/records.js'
import type { Partition, RegionLinks } from '../../../shared/region-link.js'
import { describeSchemaError } from '../../../shared/schema-errors.js'
import { HttpError, type ErrorCode } from '../errors.js'
import { notStoredError, storeMessage, storeMessages, type AddOutcome, type Intake } from '../enqueue.js'
import { acceptedAnswer, prepareMessage } from '../ingest.js'
import { claimKey, fingerprintOf, idempotencyKey, type ClaimStore } from '../idempotency.js'
import { AcceptedSchema, BatchResultSchema, BatchSchema, ErrorSchema, IdempotencyHeadersSchema, MessageSchema, type MessageInput } from '../schemas/message.js'
import { IdParamsSchema, RecordSchema } from '../schemas/record.js'
import { UnavailableSchema } from '../schemas/errors.js'

export interface MessagesRouteOptions { config: Config, links: RegionLinks, clock: Clock, intake: Intake, claims: ClaimStore }

const checkMessage = TypeCompiler.Compile(MessageSchema)

/** One item of a batch answer: stored with its id, or refused (invalid, or not stored) with why. */
type BatchItem = { index: number, id: string } | { index: number, error: string, code: ErrorCode }

/** /v1/messages: ingest one or many, read a record. */
export const messagesRoutes: FastifyPluginAsyncTypebox<MessagesRouteOptions> = async (app, { config, links, clock, intake, claims }) => {
  app.addHook('onRequest', app.authenticate)

  app.post('/v1/messages', {
    schema: {
      summary: 'Queue a message',
      body: MessageSchema,
      documentedHeaders: IdempotencyHeadersSchema,
      response: { 202: AcceptedSchema, '4xx': ErrorSchema, 503: UnavailableSchema }
    }
  }, async (req, reply) => {
    const now = clock.now()
    let data = prepareMessage(req.body, req.client, config, now)
    let answer = acceptedAnswer(data, now)
    const key = idempotencyKey(req)
    const claim = key === null ? null : await claimKey(claims, req.client.name, key, { fingerprint: fingerprintOf(req), createdAt: now, answer })
    if (claim?.kind === 'mismatch') throw new HttpError('MQ_ERR_IDEMPOTENCY_MISMATCH')
    if (claim?.kind === 'replay') {
      // The claimed message, made again from the same request: stored now unless it already is.
      answer = claim.claim.answer
      data = { ...data, id: answer.id, messageId: answer.messageId, createdAt: claim.claim.createdAt, replay: true }
      const [stored] = await intake.ingest.stored([data.id])
      if (!stored) await storeMessage(intake, req, data, now)
      return await reply.code(202).header('idempotent-replayed', 'true').send(answer)
    }
    await storeMessage(intake, req, data, now)
    return await reply.code(202).send(answer)
  })

  app.post('/v1/messages/batch', {
    schema: {
      summary: 'Queue up to 1000 messages at once',
      body: BatchSchema,
      documentedHeaders: IdempotencyHeadersSchema,
      response: { '2xx': BatchResultSchema, '4xx': ErrorSchema, 503: UnavailableSchema }
    }
  }, async (req, reply) => {
    const now = clock.now()
    // One partition for the whole batch: one Redis call per region, and batches spread over them.
    const partition = Math.floor(Math.random() * config.queuePartitions)
    const jobs = new Map<number, NewJob>()
    let results: BatchItem[] = req.body.messages.map((item, index) => {
      const root = `messages[${index}]`
      try {
        if (!checkMessage.Check(item)) {
          const first = checkMessage.Errors(item).First()
          throw new HttpError('MQ_ERR_VALIDATION', first ? describeSchemaError(first, root) : `${root} is not a valid message`)
        }
        const data = prepareMessage(item as MessageInput, req.client, config, now, partition, root)
        jobs.set(index, data)
        // CONTRACT.md's {index, id}: at a thousand messages per request every byte of it counts.
        return { index, id: data.id }
      } catch (err) {
        if (!(err instanceof HttpError)) throw err
        return { index, error: err.message, code: err.code }
      }
    })
    const key = idempotencyKey(req)
    const claim = key === null ? null : await claimKey(claims, req.client.name, key, { fingerprint: fingerprintOf(req), createdAt: now, answer: results })
    if (claim?.kind === 'mismatch') throw new HttpError('MQ_ERR_IDEMPOTENCY_MISMATCH')
    if (claim?.kind === 'replay') {
      // The claimed messages, made again from the same request: only those not stored yet are added.
      results = claim.claim.answer
      const claimed = claimedJobs(results, jobs, claim.claim.createdAt)
      const stored = await intake.ingest.stored([...claimed.values()].map((j) => j.id))
      jobs.clear()
      let i = 0
      for (const [index, job] of claimed) if (!stored[i++]) jobs.set(index, job)
    }
    const outcomes = await storeMessages(intake, req, [...jobs.values()], now)
    let i = 0
    let notStored: AddOutcome | null = null
    for (const index of jobs.keys()) {
      const outcome = outcomes[i++] as AddOutcome
      if (outcome.kind === 'stored') continue
      const error = notStoredError(outcome)
      results[index] = { index, error: error.message, code: error.code }
      if (notStored?.kind !== 'unknown') notStored = outcome
    }
    const storedCount = results.filter((r) => 'id' in r).length
    // An error status only when no item is stored: a 503 then means none of it is.
    if (notStored && storedCount === 0) throw notStoredError(notStored)
    if (claim?.kind === 'replay') void reply.header('idempotent-replayed', 'true')
    return await reply.code(storedCount === results.length ? 202 : 207).send({ results })
  })

  app.get('/v1/messages/:id', {
    schema: { summary: 'Read a message\'s record', params: IdParamsSchema, response: { 200: RecordSchema, '4xx': ErrorSchema } }
  }, async (req) => {
    const record = await findRecord(links, req.params.id)
    if (!record || (req.client.domains !== '*' && !req.client.domains.has(record.domain))) {
      throw new HttpError('MQ_ERR_NOT_FOUND', `message ${req.params.id}`)
    }
    return record
  })
}

/** The stored record, completed by the queue's view while the message is not final. */
export async function findRecord (links: RegionLinks, id: string): Promise<MessageRecord | null> {
  const partition = await links.resolve(id)
  return partition ? await readRecord(partition, id) : null
}

/** findRecord, in the partition the message lives in. */
export async function readRecord (partition: Partition, id: string): Promise<MessageRecord | null> {
  const stored = await partition.store.read(id)
  if (stored && FINAL_STATUSES.has(stored.status)) return stored
  const job = await partition.queue.getJob(id)
  const state = job ? await job.getState() : 'unknown'
  // The worker writes the record before it moves the job on, so a job that finished (or left the
  // queue) since the first read has its final record stored by now.
  if (!job || state === 'completed' || state === 'failed') {
    const final = await partition.store.read(id)
    if (final || !job) return final
  }
  return recordFromJob(job, state, stored)
}

/**
 * The jobs a replayed batch claimed, by index: each message the first answer gave an id, made
 * again from this (identical) request with that id and the claim's time.
 */
function claimedJobs (claimed: readonly BatchItem[], made: ReadonlyMap<number, NewJob>, createdAt: number): Map<number, NewJob> {
  const jobs = new Map<number, NewJob>()
  for (const item of claimed) {
    const job = made.get(item.index)
    if (job && 'id' in item) jobs.set(item.index, { ...job, id: item.id, messageId: `<${item.id.slice(3)}@${job.domain}>`, createdAt, replay: true })
  }
  return jobs
}
