import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { createLogger } from '../../shared/logger.js'
import { createMetrics } from '../../shared/metrics.js'
import { configuredRegions, openRegionLinks, type RegionLinks } from '../../shared/region-link.js'
import { buildApi } from '../../services/api/app.js'
import { eventually, message, startStack, type Stack } from '../helpers/stack.js'

// clients[].ratePerSecond: one bucket per client in Redis, so a second API process (its own app
// and connections here) sees what the first one took. A message costs one token, a batch of n
// costs n. The rates are slow (one message per 5 s) so no test depends on how fast it runs.
const DOMAIN = 'mg.example.com'
let stack: Stack
let otherLinks: RegionLinks
let otherApi: FastifyInstance
before(async () => {
  stack = await startStack({ worker: false, clients: { slow: ['*'], batcher: ['*'], steady: ['*'] }, clientRates: { slow: 0.2, batcher: 0.2, steady: 1000 } })
  otherLinks = openRegionLinks(stack.config, 'producer', configuredRegions(stack.config))
  otherApi = await buildApi({ config: stack.config, links: otherLinks, logger: createLogger('silent'), metrics: createMetrics(otherLinks) })
  // The buckets live on the store connections, which nothing else here has used yet.
  for (const links of [stack.links, otherLinks]) await eventually(() => links.get('us').storeRedis.status === 'ready' || undefined, 'store connection')
})
after(async () => {
  await otherApi.close()
  await otherLinks.close()
  await stack.close()
})

const post = (api: FastifyInstance, client: string, url = '/v1/messages', payload: object = message(DOMAIN)) =>
  api.inject({ method: 'POST', url, headers: stack.auth(client), payload })
const queued = async (): Promise<number> => {
  const counts = await Promise.all(stack.links.get('us').current.map((p) => p.queue.getJobCounts('wait', 'delayed', 'prioritized')))
  return counts.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0)
}

test('over its rate a client gets 429 with Retry-After, on every API process, and nothing is queued', async () => {
  assert.equal((await post(stack.api, 'slow')).statusCode, 202)
  const before = await queued()
  const second = await post(otherApi, 'slow')
  assert.equal(second.statusCode, 429, second.body)
  assert.equal(second.json().code, 'MQ_ERR_RATE_LIMITED')
  const retryAfter = Number(second.headers['retry-after'])
  assert.ok(retryAfter >= 1 && retryAfter <= 5, `Retry-After ${retryAfter}`)
  const dropIn = await stack.api.inject({
    method: 'POST', url: `/v3/${DOMAIN}/messages`, payload: `from=shop%40${DOMAIN}&to=u%40example.com&text=hi`,
    headers: { authorization: 'Basic ' + Buffer.from(`api:${stack.clientKeys.slow}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' }
  })
  assert.equal(dropIn.statusCode, 429)
  assert.ok(Number(dropIn.headers['retry-after']) >= 1)
  assert.equal(await queued(), before)
})

test('a batch of n costs n tokens: three messages at one per 5 s leave the client 15 s in debt', async () => {
  const batch = await post(stack.api, 'batcher', '/v1/messages/batch', { messages: [message(DOMAIN), message(DOMAIN), message(DOMAIN)] })
  assert.equal(batch.statusCode, 202, batch.body)
  const next = await post(otherApi, 'batcher')
  assert.equal(next.statusCode, 429)
  const retryAfter = Number(next.headers['retry-after'])
  assert.ok(retryAfter > 10 && retryAfter <= 15, `Retry-After ${retryAfter}: the debt of the two extra messages`)
})

test('clients without a rate, or under it, never meet the limit and cost no Redis key', async () => {
  for (let i = 0; i < 20; i++) assert.equal((await post(stack.api, 'main')).statusCode, 202)
  const batch = await post(stack.api, 'steady', '/v1/messages/batch', { messages: Array.from({ length: 50 }, () => message(DOMAIN)) })
  assert.equal(batch.statusCode, 202)
  const keys = await stack.links.get('us').storeRedis.keys(`${stack.config.prefix}:client-rate:*`)
  assert.deepEqual(keys.sort(), ['batcher', 'slow', 'steady'].map((c) => `${stack.config.prefix}:client-rate:${c}`))
})
