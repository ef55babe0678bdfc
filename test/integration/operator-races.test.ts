/**
 * Operator actions racing each other and the worker: whatever the interleaving, a message's record
 * ends matching what the simulator received. Each action is one Lua script in the message's hash
 * slot, so these tests run on the single Redis and on a cluster with partitions.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { buildApi } from '../../services/api/app.js'
import { createLogger } from '../../shared/logger.js'
import { createMetrics } from '../../shared/metrics.js'
import type { MessageRecord } from '../../shared/records.js'
import { openRegionLinks } from '../../shared/region-link.js'
import { startLatencyProxy } from '../helpers/latency-proxy.js'
import { testRedisUrl } from '../helpers/redis.js'
import { accept, clusterSkip, eventually, message, partitionOf, startStack, statusesOf, type Accepted, type Stack, type StackOptions } from '../helpers/stack.js'

describe('operator races, single Redis', () => { raceTests({}) })
describe('operator races, Redis Cluster with 3 partitions per region', { skip: clusterSkip() }, () => {
  raceTests({ cluster: true, partitions: 3 })
})

function raceTests (target: Pick<StackOptions, 'cluster' | 'partitions'>): void {
  let stack: Stack
  /** The API operators use: on the single Redis, one that reaches Redis through 2 ms of latency each way. */
  let ops: FastifyInstance
  const closing: Array<() => Promise<void>> = []
  before(async () => {
    stack = await startStack({ domains: [{ name: 'mg.example.com', region: 'us' }, { name: 'mg.bulk.com', region: 'us' }], ...target })
    closing.push(() => stack.close())
    ops = target.cluster ? stack.api : await slowApi(stack, closing)
  })
  after(async () => { for (const close of closing.reverse()) await close() })

  const retry = (id: string) => ops.inject({ method: 'POST', url: `/v1/messages/${id}/retry`, headers: stack.auth() })
  const cancel = (id: string) => ops.inject({ method: 'DELETE', url: `/v1/messages/${id}`, headers: stack.auth() })
  const record = async (id: string): Promise<MessageRecord> => (await stack.api.inject({ url: `/v1/messages/${id}`, headers: stack.auth() })).json()
  const receivedCount = (messageId: string): number => stack.sims.us.received().filter((m) => m.messageId === messageId).length
  const allReach = async (ids: readonly string[], status: string): Promise<void> => {
    await eventually(async () => (await statusesOf(stack, ids)).every((s) => s === status) || undefined, `${ids.length} messages ${status}`, 30_000)
  }

  /** `n` messages of `domain` rejected with a 400, so each is failed after one attempt. */
  async function failed (domain: string, n: number, extra: Record<string, unknown> = {}): Promise<Accepted[]> {
    stack.sims.us.addFault({ status: 400, domain, count: n })
    const messages = n === 1 ? [await sendOne(domain, extra)] : await accept(stack, domain, n)
    await allReach(messages.map((m) => m.id), 'failed')
    return messages
  }
  async function sendOne (domain: string, extra: Record<string, unknown>): Promise<Accepted> {
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message(domain, extra) })
    assert.equal(res.statusCode, 202, res.body)
    return res.json()
  }

  test('three concurrent retries of each of 100 failed messages and an overlapping replay requeue each once', async () => {
    const messages = await failed('mg.example.com', 100)
    const ids = messages.map((m) => m.id)
    // Spread over a few milliseconds, so the later clicks of a message land at every step of the
    // first one's requeue and of the worker's send that follows.
    const click = async (id: string): Promise<Awaited<ReturnType<typeof retry>>> => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20))
      return await retry(id)
    }
    const [answers, replay] = await Promise.all([
      Promise.all(ids.flatMap((id) => [click(id), click(id), click(id)])),
      ops.inject({ method: 'POST', url: '/v1/messages/replay', headers: stack.auth(), payload: { domain: 'mg.example.com' } })
    ])
    assert.equal(replay.statusCode, 202, replay.body)
    const requeued = answers.filter((a) => a.statusCode === 202).length
    assert.ok(answers.every((a) => a.statusCode === 202 || a.statusCode === 409), answers.map((a) => a.statusCode).join())
    assert.equal(requeued + (replay.json() as { replayed: number }).replayed, ids.length, 'each message requeued exactly once')
    await allReach(ids, 'sent')
    for (const m of messages) {
      assert.equal(receivedCount(m.messageId), 1, `${m.id} sent once`)
      const r = await record(m.id)
      assert.deepEqual(r.history.map((h) => h.outcome), ['failed', 'sent'], m.id)
      assert.equal(r.attempts, 1)
    }
    const listed = await stack.api.inject({ url: '/v1/messages?status=failed&domain=mg.example.com', headers: stack.auth() })
    assert.deepEqual(listed.json().records, [], 'none left in the failure index')
  })

  test('retries racing the worker\'s own failure end sent, each message sent once', async () => {
    stack.sims.us.addFault({ status: 400, domain: 'mg.example.com', count: 30 })
    const messages = await accept(stack, 'mg.example.com', 30)
    // Each retry is fired again and again from the moment the message is queued: some land while
    // the worker is still recording its failure, most before, until one is taken.
    await Promise.all(messages.map(async ({ id }) => {
      await eventually(async () => (await retry(id)).statusCode === 202 || undefined, `${id} requeued`, 30_000)
    }))
    await allReach(messages.map((m) => m.id), 'sent')
    for (const m of messages) assert.equal(receivedCount(m.messageId), 1, `${m.id} sent once`)
  })

  test('a retried or replayed bulk message keeps its lane', async () => {
    const [single] = await failed('mg.bulk.com', 1, { lane: 'bulk' }) as [Accepted]
    const [replayed] = await failed('mg.bulk.com', 1, { lane: 'bulk' }) as [Accepted]
    // Without a worker, so the requeued jobs stay where the retry put them.
    await stack.worker?.close()
    stack.worker = null
    try {
      assert.equal((await retry(single.id)).statusCode, 202)
      const res = await ops.inject({ method: 'POST', url: '/v1/messages/replay', headers: stack.auth(), payload: { domain: 'mg.bulk.com' } })
      assert.deepEqual(res.json(), { replayed: 1 })
      for (const { id } of [single, replayed]) {
        const { queue } = partitionOf(stack, id)
        assert.equal(await queue.getJobState(id), 'prioritized', `${id} waits in the bulk lane`)
        assert.equal((await queue.getJob(id))?.priority, 1)
        assert.equal((await record(id)).status, 'queued')
      }
    } finally {
      await stack.startWorker()
    }
    await allReach([single.id, replayed.id], 'sent')
  })

  test('cancels racing the worker: a cancelled message is never sent, a refused one is sent once', async () => {
    const messages = await accept(stack, 'mg.example.com', 60)
    const answers = await Promise.all(messages.map((m) => cancel(m.id)))
    const cancelled = messages.filter((_, i) => answers[i]?.statusCode === 200)
    const refused = messages.filter((_, i) => answers[i]?.statusCode === 409)
    assert.equal(cancelled.length + refused.length, messages.length, answers.map((a) => a.statusCode).join())
    await allReach(refused.map((m) => m.id), 'sent')
    for (const m of refused) assert.equal(receivedCount(m.messageId), 1, `${m.id} sent once`)
    for (const m of cancelled) {
      assert.equal((await record(m.id)).status, 'cancelled')
      assert.equal(receivedCount(m.messageId), 0, `${m.id} never sent`)
      assert.equal(await partitionOf(stack, m.id).queue.getJob(m.id), undefined, 'its job is gone')
    }
  })

  test('a cancel and a retry of the same failed message: whichever order they run in, the record tells what was sent', async () => {
    const [m] = await failed('mg.example.com', 1) as [Accepted]
    const [cancelled, retried] = await Promise.all([cancel(m.id), retry(m.id)])
    assert.equal(retried.statusCode, 202, 'the retry finds it failed: a cancel never takes a failed message')
    if (cancelled.statusCode === 200) {
      // The retry ran first and the cancel took the requeued message before a worker did.
      assert.equal((await record(m.id)).status, 'cancelled')
      assert.equal(receivedCount(m.messageId), 0)
    } else {
      assert.equal(cancelled.statusCode, 409)
      await allReach([m.id], 'sent')
      assert.equal(receivedCount(m.messageId), 1)
    }
  })
}

/** A second API on the stack's config whose Redis connections go through a latency proxy. */
async function slowApi (stack: Stack, closing: Array<() => Promise<void>>): Promise<FastifyInstance> {
  const proxy = await startLatencyProxy(testRedisUrl(), 2)
  closing.push(() => proxy.close())
  const target = { kind: 'single' as const, url: proxy.url }
  const config = { ...stack.config, redis: { us: target, eu: target } }
  const links = openRegionLinks(config, 'producer', ['us'])
  closing.push(() => links.close())
  await eventually(() => [...links.links.values()].every((l) => l.queueRedis.status === 'ready' && l.storeRedis.status === 'ready') || undefined, 'slow links ready')
  const api = await buildApi({ config, links, logger: createLogger('silent'), metrics: createMetrics(links) })
  closing.push(() => api.close())
  return api
}
