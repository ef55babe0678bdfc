import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from '../../shared/config.js'
import { HoldStore } from '../../shared/holds.js'
import { createMetrics } from '../../shared/metrics.js'
import { startRedisServer } from '../../shared/redis-server.js'
import { openRegionLinks } from '../../shared/region-link.js'
import type { StoredJob } from '../../shared/queues.js'
import { eventually, message, onlyPartition, startStack, type Stack } from '../helpers/stack.js'
import { sampleValue } from '../helpers/prometheus.js'
import { cleanups } from '../helpers/cleanups.js'
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js'

// No worker: what waits stays waiting, so the queue figures are exactly what the test put there.
let stack: Stack
before(async () => {
  stack = await startStack({ worker: false, domains: [{ name: 'mg.example.com', region: 'us' }, { name: 'mg.example.eu', region: 'eu' }] })
  await eventually(() => [...stack.links.links.values()].every((l) => l.storeRedis.status === 'ready') || undefined, 'redis connections ready')
})
after(async () => { await stack.close() })

const scrape = async (): Promise<string> => {
  const res = await stack.api.inject({ url: '/metrics' })
  assert.equal(res.statusCode, 200)
  assert.match(res.headers['content-type'] as string, /^text\/plain/)
  return res.body
}

const job = (domain: string): StoredJob => ({ domain, messageId: `<m@${domain}>`, fields: [['from', `a@${domain}`], ['to', 'b@example.com'], ['text', 'hi']] })

test('outcome counts are counters named _total, summed over the counter keys every worker writes', async () => {
  const link = stack.links.get('us')
  const stats = onlyPartition(stack).keys.stats
  await link.storeRedis.hincrby(stats, 'sent|us|mg.example.com', 3)
  await link.storeRedis.hincrby(stats, 'failed|us|mg.example.com', 1)
  await link.storeRedis.hincrby(stats, 'sent|eu|mg.example.eu', 2)
  const text = await scrape()
  assert.match(text, /^# TYPE mailqueue_outcomes_total counter$/m)
  assert.doesNotMatch(text, /^# TYPE mailqueue_outcomes gauge$/m)
  assert.equal(sampleValue(text, 'mailqueue_outcomes_total', { status: 'sent', region: 'us', domain: 'mg.example.com' }), 3)
  assert.equal(sampleValue(text, 'mailqueue_outcomes_total', { status: 'failed', region: 'us', domain: 'mg.example.com' }), 1)
  // Both regions use the one test Redis, so they share the hash: each counts its own fields, once.
  assert.equal(sampleValue(text, 'mailqueue_outcomes_total', { status: 'sent', region: 'eu', domain: 'mg.example.eu' }), 2)
  // Two scrapes at once read and set the same values: never the sum of both.
  const [a, b] = await Promise.all([scrape(), scrape()])
  for (const t of [a, b]) assert.equal(sampleValue(t, 'mailqueue_outcomes_total', { status: 'sent', region: 'us', domain: 'mg.example.com' }), 3)
})

test('every process registry carries the default process metrics', async () => {
  const text = await scrape()
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
    assert.ok(sampleValue(text, name) !== undefined, `${name} in the API's /metrics`)
  }
  assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m)
})

test('a worker process registry has its own metrics and none of the cluster-wide ones the API reports', async () => {
  const text = await createMetrics(null).registry.metrics()
  assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m)
  assert.match(text, /^# TYPE mailqueue_send_duration_seconds histogram$/m)
  for (const name of ['mailqueue_outcomes_total', 'mailqueue_queue_depth', 'mailqueue_queue_oldest_waiting_seconds', 'mailqueue_domain_held', 'mailqueue_region_held', 'mailqueue_worker_last_finished_timestamp_seconds']) {
    assert.doesNotMatch(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is reported by the API only`)
  }
})

test('queue lag: the age of the oldest message waiting per region, in the wait list, the bulk lane and past-due delays', async () => {
  const now = Date.now()
  const us = onlyPartition(stack, 'us')
  const lagOf = async (region: string): Promise<number> => sampleValue(await scrape(), 'mailqueue_queue_oldest_waiting_seconds', { region }) ?? NaN
  assert.equal(await lagOf('us'), 0, 'nothing waits yet')
  assert.equal(await lagOf('eu'), 0)

  // A fresh message through the API: waiting for well under a minute.
  const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com') })
  assert.equal(res.statusCode, 202)
  const fresh = await lagOf('us')
  assert.ok(fresh >= 0 && fresh < 60, `fresh message lag ${fresh}`)

  // A bulk message created 5 minutes ago waits in the prioritized set.
  await us.queue.add('send', job('mg.example.com'), { jobId: 'us-bulk-old', priority: 1, timestamp: now - 300_000 })
  const bulk = await lagOf('us')
  assert.ok(bulk >= 300 && bulk < 360, `bulk lag ${bulk}`)

  // A message scheduled for 10 minutes after its creation 20 minutes ago is due since 10 minutes; with
  // no worker to promote it, it still sits among the delayed jobs and counts as waiting.
  await us.queue.add('send', job('mg.example.com'), { jobId: 'us-due', delay: 600_000, timestamp: now - 1_200_000 })
  const due = await lagOf('us')
  assert.ok(due >= 600 && due < 660, `past-due lag ${due}`)

  // A message created an hour ago whose last attempt started 15 minutes ago (a retry, back in the
  // wait list): it has waited since then at most.
  const eu = onlyPartition(stack, 'eu')
  await eu.queue.add('send', job('mg.example.eu'), { jobId: 'eu-retried', timestamp: now - 3_600_000 })
  await stack.links.get('eu').queueRedis.hset(eu.queue.toKey('eu-retried'), 'processedOn', String(now - 900_000))
  const retried = await lagOf('eu')
  assert.ok(retried >= 900 && retried < 960, `retried lag ${retried}`)
  assert.ok(await lagOf('us') < 660, 'regions are apart')

  // Scheduled for the future: not waiting yet.
  await eu.queue.add('send', job('mg.example.eu'), { jobId: 'eu-later', delay: 3_600_000 })
  assert.ok(await lagOf('eu') < 960)

  const depth = await scrape()
  assert.equal(sampleValue(depth, 'mailqueue_queue_depth', { region: 'us', state: 'wait' }), 1)
  assert.equal(sampleValue(depth, 'mailqueue_queue_depth', { region: 'us', state: 'prioritized' }), 1)
  assert.equal(sampleValue(depth, 'mailqueue_queue_depth', { region: 'eu', state: 'delayed' }), 1)
  assert.equal(sampleValue(depth, 'mailqueue_queue_depth', { region: 'us', state: 'delayed' }), 1)
  await Promise.all([us.queue.drain(true), eu.queue.drain(true)])
  assert.equal(await lagOf('us'), 0, 'drained')
  assert.equal(await lagOf('eu'), 0, 'drained')
})

test('held domains and regions, and when a worker last finished a job', async () => {
  const us = stack.links.get('us')
  const holds = new HoldStore(us)
  const before = await scrape()
  assert.equal(sampleValue(before, 'mailqueue_domain_held', { domain: 'mg.example.com' }), undefined)
  assert.equal(sampleValue(before, 'mailqueue_region_held', { region: 'us' }), 0)
  assert.equal(sampleValue(before, 'mailqueue_worker_last_finished_timestamp_seconds', { region: 'us' }), 0, 'no worker ever finished a job')

  await holds.hold('domain', 'mg.example.com', 'sending key rejected (401)', Date.now())
  await holds.hold('region', 'us', 'region us keeps failing', Date.now())
  const finishedAt = Date.now() - 5000
  await us.storeRedis.set(us.keys.progress, String(finishedAt))
  const held = await scrape()
  assert.equal(sampleValue(held, 'mailqueue_domain_held', { domain: 'mg.example.com' }), 1)
  assert.equal(sampleValue(held, 'mailqueue_region_held', { region: 'us' }), 1)
  assert.equal(sampleValue(held, 'mailqueue_region_held', { region: 'eu' }), 0)
  assert.equal(sampleValue(held, 'mailqueue_worker_last_finished_timestamp_seconds', { region: 'us' }), finishedAt / 1000)

  await holds.release('domain', 'mg.example.com')
  await holds.release('region', 'us')
  await eventually(async () => sampleValue(await scrape(), 'mailqueue_domain_held', { domain: 'mg.example.com' }) === undefined || undefined, 'the hold gone from /metrics')
})

test("with a region's Redis gone, /metrics still answers: process metrics, and no made-up cluster values", async (t) => {
  const defer = cleanups(t)
  let redis = await startRedisServer()
  defer(() => redis.stop())
  const config = loadConfig({ env: { REDIS_URL: redis.url, MAILQUEUE_PREFIX: uniquePrefix() }, readFile: () => null })
  const links = openRegionLinks(config, 'producer', ['us'])
  defer(() => links.close())
  const metrics = createMetrics(links)
  await eventually(async () => sampleValue(await metrics.registry.metrics(), 'mailqueue_queue_depth', { region: 'us', state: 'wait' }) === 0 || undefined, 'the region read')
  await redis.stop()
  const text = await metrics.registry.metrics()
  assert.ok(sampleValue(text, 'process_resident_memory_bytes') !== undefined)
  assert.equal(sampleValue(text, 'mailqueue_queue_depth', { region: 'us', state: 'wait' }), undefined)
  assert.equal(sampleValue(text, 'mailqueue_queue_oldest_waiting_seconds', { region: 'us' }), undefined)

  redis = await startRedisServer({ port: redis.port })
  await eventually(async () => sampleValue(await metrics.registry.metrics(), 'mailqueue_queue_depth', { region: 'us', state: 'wait' }) === 0 || undefined, 'the region back', 30_000)
})

test('with QUEUE_PARTITIONS=2, a region\'s counters, depth and lag are read across its partitions', async (t) => {
  const defer = cleanups(t)
  const config = loadConfig({ env: { REDIS_URL: testRedisUrl(), MAILQUEUE_PREFIX: uniquePrefix(), QUEUE_PARTITIONS: '2' }, readFile: () => null })
  const links = openRegionLinks(config, 'producer', ['us'])
  defer(() => links.close())
  const link = links.get('us')
  const [first, second] = link.current
  assert.ok(first && second)
  await eventually(() => link.storeRedis.status === 'ready' || undefined, 'connected')
  await link.storeRedis.hincrby(first.keys.stats, 'sent|us|mg.example.com', 2)
  await link.storeRedis.hincrby(second.keys.stats, 'sent|us|mg.example.com', 5)
  await first.queue.add('send', job('mg.example.com'), { jobId: 'us-0.2.a' })
  await second.queue.add('send', job('mg.example.com'), { jobId: 'us-1.2.b', timestamp: Date.now() - 400_000 })
  const text = await createMetrics(links).registry.metrics()
  assert.equal(sampleValue(text, 'mailqueue_outcomes_total', { status: 'sent', region: 'us', domain: 'mg.example.com' }), 7)
  assert.equal(sampleValue(text, 'mailqueue_queue_depth', { region: 'us', state: 'wait' }), 2)
  const lag = sampleValue(text, 'mailqueue_queue_oldest_waiting_seconds', { region: 'us' }) ?? NaN
  assert.ok(lag >= 400 && lag < 460, `lag ${lag}`)
  await Promise.all([first.queue.obliterate({ force: true }), second.queue.obliterate({ force: true })])
})
