/**
 * Every send ends with a readable record, whatever Redis does: a Redis over `maxmemory` refuses
 * the outcome writes (while BullMQ's own job moves still go through), and the worker must keep
 * those outcomes until they are stored rather than move on. Held messages write a record line
 * when they become held, not at every probe.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MessageRecord } from '../../shared/records.js'
import { createRedis } from '../../shared/redis.js'
import { startRedisServer } from '../../shared/redis-server.js'
import { cleanups } from '../helpers/cleanups.js'
import { accept, assertEachOnce, clusterSkip, eventually, partitionOf, startStack, statusesOf, type Stack, type StackOptions } from '../helpers/stack.js'

const DOMAIN = 'mg.example.com'

const logged = (stack: Stack, msg: string): number => stack.logs.filter((l) => l.includes(`"msg":"${msg}"`)).length

test('Redis over maxmemory mid-flow: the worker stops taking work until its outcomes are stored; then every message is sent once and readable', async (t) => {
  const defer = cleanups(t)
  const dir = mkdtempSync(join(tmpdir(), 'mq-full-'))
  const redis = await startRedisServer({ dir })
  defer(async () => { await redis.stop('SIGKILL'); rmSync(dir, { recursive: true, force: true }) })
  const admin = createRedis({ kind: 'single', url: redis.url }, 'worker', 'test-admin')
  defer(async () => { await admin.quit() })
  const stack = await startStack({ env: { REDIS_URL: redis.url }, worker: false })
  defer(() => stack.close())
  // Slow answers keep a window of sends in flight when Redis fills up.
  stack.sims.us.setDelay(20)
  const accepted = await accept(stack, DOMAIN, 400)
  await stack.startWorker()
  await eventually(() => stack.sims.us.received().length >= 50 || undefined, 'the flow under way')

  await admin.config('SET', 'maxmemory', '1')
  await eventually(() => logged(stack, 'outcomes not stored: pausing the region until Redis takes them') > 0 || undefined, 'the worker to notice')
  const atPause = stack.sims.us.received().length
  // Several rounds of failed writes later, nothing more has been taken.
  await eventually(() => logged(stack, 'outcomes still not stored') >= 3 || undefined, 'the writes retried')
  const whilePaused = stack.sims.us.received().length
  assert.ok(whilePaused <= atPause + stack.config.workerConcurrency, `${whilePaused - atPause} sends after the pause`)
  assert.ok(whilePaused < 400, 'the worker did not go on sending without records')

  await admin.config('SET', 'maxmemory', '0')
  const ids = accepted.map((a) => a.id)
  await eventually(async () => (await statusesOf(stack, ids)).every((s) => s === 'sent') || undefined, 'every record sent', 60_000)
  assertEachOnce(stack, accepted)
  for (const a of accepted) {
    const res = await stack.api.inject({ url: `/v1/messages/${a.id}`, headers: stack.auth() })
    assert.equal(res.statusCode, 200, `${a.id} readable`)
    assert.equal(res.json<MessageRecord>().history.length, 1, `${a.id}: one line, never a repeated write`)
  }
  assert.equal(logged(stack, 'outcomes stored again: resuming the region'), 1)
  t.diagnostic(`${atPause} sent when Redis filled, ${whilePaused - atPause} in flight finished while paused`)
})

test('a job back from a stall whose outcome was stored before its worker died is finished, not sent again', async (t) => {
  const stack = await startStack({ worker: false })
  cleanups(t)(() => stack.close())
  const [msg] = await accept(stack, DOMAIN, 1)
  assert.ok(msg)
  const partition = partitionOf(stack, msg.id)
  const job = await partition.queue.getJob(msg.id)
  assert.ok(job)
  // What a worker killed between storing the outcome and moving the job leaves: the record says
  // sent, and BullMQ brings the job back as stalled (its stall count up by one).
  await partition.store.write({
    job: { ...msg, domain: DOMAIN, region: 'us', createdAt: job.timestamp, sendAt: null },
    status: 'sent', attempts: 1, at: Date.now(), error: null,
    entry: { attempt: 1, outcome: 'sent', status: 200, error: null, nextAttemptAt: null }
  })
  await stack.links.get('us').queueRedis.hset(partition.queue.toKey(msg.id), 'stc', '1')
  await stack.startWorker()
  await eventually(async () => await partition.queue.getJob(msg.id) === undefined || undefined, 'the job finished')
  assert.equal(stack.sims.us.requests(), 0, 'nothing sent again')
  const record = await partition.store.read(msg.id)
  assert.equal(record?.status, 'sent')
  assert.equal(record?.history.length, 1)
})

describe('a region outage, single Redis', () => { outageLines({}) })
describe('a region outage, Redis Cluster with 3 partitions', { skip: clusterSkip() }, () => { outageLines({ cluster: true, partitions: 3 }) })

function outageLines (target: Pick<StackOptions, 'cluster' | 'partitions'>): void {
  test('a held message writes one held line, not one per probe; all are sent once the region answers', async (t) => {
    const defer = cleanups(t)
    const stack = await startStack(target)
    defer(() => stack.close())
    stack.sims.us.addFault({ status: 503, forMs: 9000 })
    const accepted = await accept(stack, DOMAIN, 40)
    const ids = accepted.map((a) => a.id)
    await eventually(async () => (await statusesOf(stack, ids)).every((s) => s === 'sent') || undefined, 'all sent after the outage', 60_000)
    const { storeRedis } = stack.links.get('us')
    let probes = 0
    for (const id of ids) {
      const partition = partitionOf(stack, id)
      const lines = (await storeRedis.get(partition.keys.record(id)) ?? '').split('\n').map((l) => JSON.parse(l) as { status: string, entry?: { error: string | null } })
      const quietHeld = lines.filter((l) => l.status === 'held' && !l.entry)
      assert.ok(quietHeld.length <= 1, `${id}: ${quietHeld.length} held lines without an attempt`)
      probes += lines.filter((l) => l.status === 'held' && l.entry).length
      const streamed = (await storeRedis.xrange(partition.keys.outcomes, '-', '+')).filter(([, f]) => JSON.parse(f[1] as string).id === id)
      assert.equal(streamed.length, lines.length, `${id}: a stream entry per line, no more`)
    }
    assertEachOnce(stack, accepted)
    for (const p of stack.links.get('us').partitions()) assert.equal(await storeRedis.zcard(p.keys.held), 0, 'nothing left in the held index')
    t.diagnostic(`${probes} failed probes over the outage`)
  })
}
