/**
 * NAIVE BASELINE (a) — not mailqueue. The framework's ceiling: a bare Fastify route with the same
 * JSON schema shape as POST /v1/messages that answers 202 without touching Redis.
 * Env: PORT, HOST.
 */
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Accepted, listenOptions, MessageBody } from './schema.js'

const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>()

app.get('/readyz', async () => ({ ok: true }))
app.post('/v1/messages', { schema: { body: MessageBody, response: { 202: Accepted } } }, async (_req, reply) => {
  return await reply.code(202).send({ id: randomUUID(), status: 'queued' })
})

await app.listen(listenOptions())
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => { void app.close().then(() => process.exit(0)) })
