import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { JobsOptions } from 'bullmq'
import { addCall, runAdd } from '../../services/api/add-jobs.js'
import { LANE_PRIORITY, jobDataOf, storedJob, type NewJob } from '../../shared/queues.js'
import type { Partition } from '../../shared/region-link.js'
import { onlyPartition, startStack, type Stack } from '../helpers/stack.js'

// addMessages-13.lua runs BullMQ's own add scripts in a loop. These tests hold it to what Queue.add stores,
// so a bullmq upgrade that changes those scripts' arguments fails here first.
let stack: Stack
let link: Partition
before(async () => {
  stack = await startStack({ worker: false })
  link = onlyPartition(stack)
})
after(async () => { await stack.close() })

const now = Date.now()
function job (extra: Partial<NewJob> = {}): NewJob {
  return {
    id: `us-${randomUUID()}`,
    messageId: `<${randomUUID()}@mg.example.com>`,
    domain: 'mg.example.com',
    region: 'us',
    createdAt: now,
    sendAt: null,
    lane: 'transactional',
    endpoint: 'messages',
    fields: [['from', 'a@mg.example.com'], ['to', 'b@example.com'], ['subject', 'hi'], ['text', 'hello']],
    files: [],
    ...extra
  }
}

/** Adds jobs as ingest does, with a deadline far enough away. */
async function addJobs (jobs: NewJob[]): Promise<number[]> {
  return await runAdd(stack.links.get('us').queueRedis, addCall(link, jobs, jobs.map(() => ''), stack.config, Date.now()), Date.now() + 10_000)
}

/** What Queue.add would be given for the same message. */
function viaQueueAdd (d: NewJob): Promise<unknown> {
  const opts: JobsOptions = { jobId: d.id, attempts: stack.config.maxAttempts, backoff: { type: 'policy' } }
  if (d.sendAt !== null) opts.delay = d.sendAt - d.createdAt
  if (LANE_PRIORITY[d.lane] > 0) opts.priority = LANE_PRIORITY[d.lane]
  return link.queue.add('send', storedJob(d), opts)
}

/** The job's hash, its id-bearing and clock-bearing fields set aside. */
async function stored (id: string): Promise<Record<string, unknown>> {
  const { opts, timestamp, ...hash } = await stack.links.get('us').queueRedis.hgetall(link.queue.toKey(id))
  const { jobId, ...rest } = JSON.parse(opts ?? '{}') as Record<string, unknown>
  assert.equal(jobId, id)
  assert.ok(Math.abs(Number(timestamp) - now) < 60_000)
  return { ...hash, opts: rest }
}

const kinds: Record<string, Partial<NewJob>> = {
  'transactional': {},
  'bulk (prioritized)': { lane: 'bulk' },
  'scheduled bulk (delayed)': { lane: 'bulk', sendAt: now + 60_000 }
}

for (const [kind, extra] of Object.entries(kinds)) {
  test(`a ${kind} job is stored as Queue.add stores it, in the same state, and reads back unchanged`, async () => {
    const ours = job(extra)
    const theirs = { ...ours, id: `us-${randomUUID()}` }
    await viaQueueAdd(theirs)
    assert.deepEqual(await addJobs([ours]), [1])

    assert.deepEqual(await stored(ours.id), await stored(theirs.id))
    assert.equal(await link.queue.getJobState(ours.id), await link.queue.getJobState(theirs.id))
    const back = await link.queue.getJob(ours.id)
    assert.ok(back)
    assert.deepEqual(jobDataOf(back), ours)
    assert.equal(back.timestamp, ours.createdAt)
    if (ours.sendAt !== null) {
      assert.equal(await link.queue.getJobState(ours.id), 'delayed')
      assert.equal(back.delay, ours.sendAt - ours.createdAt)
    }
  })
}

test('a batch keeps its order in the wait list, and a replayed id already queued is left as it was', async () => {
  const batch = [job(), job(), job()]
  assert.deepEqual(await addJobs(batch), [1, 1, 1])
  const waiting = await link.queue.getJobs(['wait'], 0, -1, true) // asc: in the order workers take them
  const order = waiting.map((j) => j.id).filter((id) => batch.some((b) => b.id === id))
  assert.deepEqual(order, batch.map((b) => b.id))

  // Only a replay re-adds an id that was handed out before: it leaves the message as it was.
  const again = { ...batch[0]!, replay: true as const, fields: [['text', 'changed']] as Array<[string, string]> }
  assert.deepEqual(await addJobs([again]), [0])
  const kept = await link.queue.getJob(again.id)
  assert.deepEqual(kept?.data.fields, batch[0]!.fields)
})
