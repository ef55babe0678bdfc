/**
 * Transactional before bulk when a domain's rate is the scarce thing, across partitions: a bulk
 * job of one partition must not take the rate a transactional job of another partition waits for.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createIngest } from '../../services/api/enqueue.js'
import { newJob } from '../../services/api/ingest.js'
import type { Lane } from '../../shared/queues.js'
import { cleanups } from '../helpers/cleanups.js'
import { eventually, startStack, statusesOf, type Stack } from '../helpers/stack.js'

const DOMAIN = 'mg.example.com'

/** Queues n messages of one lane into one partition, through ingest's own enqueue. */
async function queue (stack: Stack, n: number, lane: Lane, tag: string, partition: number): Promise<string[]> {
  const domain = stack.config.domains.get(DOMAIN)
  assert.ok(domain)
  const jobs = Array.from({ length: n }, (_, i) => newJob(domain, stack.config, Date.now(), {
    sendAt: null, lane, endpoint: 'messages', files: [],
    fields: [['from', `shop@${DOMAIN}`], ['to', 'user@example.com'], ['subject', `${tag}${i}`], ['text', 'Hello']]
  }, partition))
  const ingest = createIngest(stack.config, stack.links)
  try {
    assert.deepEqual((await ingest.addMany(jobs)).map((o) => o.kind), jobs.map(() => 'stored'))
  } finally {
    await ingest.close()
  }
  return jobs.map((j) => j.id)
}

test('QUEUE_PARTITIONS=2, a rate-limited domain: transactional mail queued behind a bulk campaign goes first', async (t) => {
  const stack = await startStack({ domains: [{ name: DOMAIN, region: 'us', ratePerSecond: 10 }], partitions: 2 })
  cleanups(t)(() => stack.close())
  assert.equal(stack.links.get('us').current.length, 2)
  // The campaign in one partition, the transactional mail in the other: each partition's queue
  // orders only its own jobs.
  const bulk = await queue(stack, 60, 'bulk', 'bulk', 0)
  await eventually(() => stack.sims.us.received().length >= 10 || undefined, 'the campaign under way')
  const urgent = await queue(stack, 10, 'transactional', 'urgent', 1)
  await eventually(async () => (await statusesOf(stack, urgent)).every((s) => s === 'sent') || undefined, 'the transactional mail sent')
  const order = stack.sims.us.received().map((m) => (m.fields.subject?.[0] ?? '').startsWith('urgent') ? 'T' : 'B').join('')
  const firstUrgent = order.indexOf('T')
  const lastUrgent = order.lastIndexOf('T')
  const bulkBetween = [...order.slice(firstUrgent, lastUrgent)].filter((c) => c === 'B').length
  // A bulk send or two may already hold its token when the transactional mail comes.
  assert.ok(bulkBetween <= 2, `bulk sends among the transactional ones: ${order}`)
  await eventually(async () => (await statusesOf(stack, bulk)).every((s) => s === 'sent') || undefined, 'the campaign finished', 30_000)
  t.diagnostic(order)
})
