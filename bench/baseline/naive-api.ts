/**
 * NAIVE BASELINE (b) — not mailqueue. What a user would write themselves: a Fastify route with the
 * same JSON schema shape that calls `queue.add('send', body)` on a BullMQ queue (and a batch route
 * that calls `queue.addBulk`). No auth, no records, no idempotency, no outcome stream.
 * Env: PORT, HOST, REDIS_URL.
 */
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { naiveMessageId, naiveQueue } from './naive-queue.js'
import { Accepted, BatchAccepted, BatchBody, listenOptions, MessageBody } from './schema.js'

const queue = naiveQueue(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
await queue.waitUntilReady()

const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 }).withTypeProvider<TypeBoxTypeProvider>()

app.get('/readyz', async () => ({ ok: true }))
app.post('/v1/messages', { schema: { body: MessageBody, response: { 202: Accepted } } }, async (req, reply) => {
  const job = await queue.add('send', req.body)
  return await reply.code(202).send({ id: job.id ?? '', messageId: naiveMessageId(job.id ?? ''), status: 'queued' })
})
app.post('/v1/messages/batch', { schema: { body: BatchBody, response: { 202: BatchAccepted } } }, async (req, reply) => {
  const jobs = await queue.addBulk(req.body.messages.map((data) => ({ name: 'send', data })))
  return await reply.code(202).send({ results: jobs.map((job, index) => ({ index, id: job.id ?? '' })) })
})

await app.listen(listenOptions())
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => { void app.close().then(async () => { await queue.close(); process.exit(0) }) })
}
