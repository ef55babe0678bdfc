import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { Config } from '../../../shared/config.js'
import type { Clock } from '../../../shared/clock.js'
import type { Metrics } from '../../../shared/metrics.js'
import type { JobData } from '../../../shared/queues.js'
import { FINAL_STATUSES, recordFromJob, type MessageRecord } from '../../../shared/records.js'
import type { Partition, RegionLinks } from '../../../shared/region-link.js'
import { describeSchemaError } from '../../../shared/schema-errors.js'
import type { ClientRate } from '../client-rate.js'
import { HttpError } from '../errors.js'
import { enqueue, enqueueMany } from '../enqueue.js'
import { acceptedAnswer, prepareMessage } from '../ingest.js'
import { replayOrClaim } from '../idempotency.js'
import { AcceptedSchema, BatchResultSchema, BatchSchema, ErrorSchema, MessageSchema, type MessageInput } from '../schemas/message.js'
import { IdParamsSchema, RecordSchema } from '../schemas/record.js'
import { UnavailableSchema } from '../schemas/errors.js'

export interface MessagesRouteOptions { config: Config, links: RegionLinks, clock: Clock, metrics: Metrics, clientRate: ClientRate }

const checkMessage = TypeCompiler.Compile(MessageSchema)

/** /v1/messages: ingest one or many, read a record. */
export const messagesRoutes: FastifyPluginAsyncTypebox<MessagesRouteOptions> = async (app, { config, links, clock, metrics, clientRate }) => {
  app.addHook('onRequest', app.authenticate)

  app.post('/v1/messages', {
    schema: {
      summary: 'Queue a message',
      body: MessageSchema,
      response: { 202: AcceptedSchema, '4xx': ErrorSchema, 503: UnavailableSchema }
    }
  }, async (req, reply) => {
    const now = clock.now()
    const data = prepareMessage(req.body, req.client, config, now)
    const answer = acceptedAnswer(data, now)
    await clientRate.take(req.client, 1, now)
    // Checked here rather than by a headers schema, which would cost every request.
    const idemKey = req.headers['idempotency-key']
    if (typeof idemKey === 'string') {
      if (idemKey.length === 0 || idemKey.length > 255) throw new HttpError('MQ_ERR_VALIDATION', 'the Idempotency-Key header must be 1 to 255 characters')
      const replay = await replayOrClaim(links.get(data.region), req.client.name, idemKey, answer,
        () => enqueue(links, config, data))
      if (replay) return reply.code(202).header('idempotent-replayed', 'true').send(replay)
    } else {
      await enqueue(links, config, data)
    }
    metrics.countAccepted(data.domain, data.region)
    return reply.code(202).send(answer)
  })

  app.post('/v1/messages/batch', {
    schema: { summary: 'Queue up to 1000 messages at once', body: BatchSchema, response: { '2xx': BatchResultSchema, '4xx': ErrorSchema, 503: UnavailableSchema } }
  }, async (req, reply) => {
    const now = clock.now()
    const jobs: JobData[] = []
    // One partition for the whole batch: one Redis call per region, and batches spread over them.
    const partition = Math.floor(Math.random() * config.queuePartitions)
    const results = req.body.messages.map((item, index) => {
      const root = `messages[${index}]`
      try {
        if (!checkMessage.Check(item)) {
          const first = checkMessage.Errors(item).First()
          throw new HttpError('MQ_ERR_VALIDATION', first ? describeSchemaError(first, root) : `${root} is not a valid message`)
        }
        const data = prepareMessage(item as MessageInput, req.client, config, now, partition, root)
        jobs.push(data)
        // CONTRACT.md's {index, id}: at a thousand messages per request every byte of it counts.
        return { index, id: data.id }
      } catch (err) {
        if (!(err instanceof HttpError)) throw err
        return { index, error: err.message }
      }
    })
    // A batch of n costs n: the point of a client's rate is that it cannot fill the queue.
    await clientRate.take(req.client, jobs.length, now)
    if (jobs.length > 0) await enqueueMany(links, config, jobs)
    for (const j of jobs) metrics.countAccepted(j.domain, j.region)
    return reply.code(jobs.length === results.length ? 202 : 207).send({ results })
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
