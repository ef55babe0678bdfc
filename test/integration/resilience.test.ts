/**
 * Issue 3, "Done when": sending survives provider outages, rate limits, rejected keys and Redis
 * restarts, proven against real Redis and the real simulator with the whole pipeline in this
 * process (the cases that need separate worker processes are in test/e2e/workers.test.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dc from 'node:diagnostics_channel'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MessageRecord, Status } from '../../shared/records.js'
import { startRedisServer, type RedisServerHandle } from '../../shared/redis-server.js'
import { cleanups, type Cleanup } from '../helpers/cleanups.js'
import { accept, arrivals, assertEachOnce, statusesOf, eventually, onlyPartition, startStack, type Stack, type StackOptions } from '../helpers/stack.js'

const A = 'a.example.com'
const B = 'b.example.com'

/** A stack closed when the test ends, with its producer connections ready. */
async function stackFor (defer: Cleanup, opts: StackOptions): Promise<Stack> {
  const stack = await startStack(opts)
  defer(() => stack.close())
  // The API's connections refuse commands until connected (no offline queue).
  await eventually(() => [...stack.links.links.values()].every((l) => l.storeRedis.status === 'ready') || undefined, 'redis connections ready')
  return stack
}

async function records (stack: Stack, ids: readonly string[]): Promise<MessageRecord[]> {
  const store = onlyPartition(stack).store
  return await Promise.all(ids.map(async (id) => {
    const r = await store.read(id)
    assert.ok(r, `record of ${id}`)
    return r
  }))
}

/** Resolves once every id's record says `status`. */
async function allReach (stack: Stack, ids: readonly string[], status: Status, what: string, timeoutMs: number): Promise<void> {
  await eventually(async () => (await statusesOf(stack, ids)).every((s) => s === status) || undefined, what, timeoutMs)
}

const domainState = async (stack: Stack, name: string): Promise<{ state: string, hold?: { reason: string } }> => {
  const res = await stack.api.inject({ url: '/v1/domains', headers: stack.auth() })
  assert.equal(res.statusCode, 200, res.body)
  const d = (res.json().domains as Array<{ name: string, state: string, hold?: { reason: string } }>).find((x) => x.name === name)
  assert.ok(d, `domain ${name} listed`)
  return d
}

test('a 503 outage while 500 messages wait: all sent, none failed, at most 2 attempts each', async (t) => {
  // The 20 s. With this stack's backoff (BACKOFF_BASE_MS 50, cap 500, MAX_ATTEMPTS 8)
  // every message would have spent all 8 attempts within ~2.3 s, so only the region outage hold
  // (no attempts spent while held; probes 1, 3, 7, 15, 25 s into the hold) keeps them from failing.
  const stack = await stackFor(cleanups(t), {})
  stack.sims.us.addFault({ status: 503, forMs: 20_000 })
  const started = Date.now()
  const accepted = await accept(stack, 'mg.example.com', 500)
  const ids = accepted.map((a) => a.id)

  await eventually(async () => (await domainState(stack, 'mg.example.com')).state === 'held' || undefined, 'the region to be held during the outage')
  await eventually(async () => (await statusesOf(stack, ids)).some((s) => s === 'held') || undefined, 'waiting messages to show held')
  await allReach(stack, ids, 'sent', 'all 500 sent', 90_000)

  const all = await records(stack, ids)
  assert.deepEqual(all.filter((r) => r.status !== 'sent').map((r) => r.status), [])
  const over = all.filter((r) => r.attempts > 2 || r.attempts < 1)
  assert.deepEqual(over.map((r) => `${r.id}: ${r.attempts}`), [], 'no message spent more than 2 attempts')
  // Every request lands in history (probes too, without spending): 503 retries, then the send.
  for (const r of all) {
    assert.equal(r.history.at(-1)?.outcome, 'sent', `${r.id}: ends sent`)
    assert.ok(r.history.slice(0, -1).every((h) => h.outcome === 'retry' && h.status === 503), `${r.id}: only 503 retries before`)
  }
  assertEachOnce(stack, accepted)
  assert.equal(stack.sims.us.received().length, 500)
  assert.equal((await domainState(stack, 'mg.example.com')).state, 'active')
  t.diagnostic(`${stack.sims.us.requests() - 500} requests answered 503; all sent ${Date.now() - started} ms after the outage began`)
})

test('429 with Retry-After: 3 → the next try comes at least 3 s later and spends no attempt', async (t) => {
  const stack = await stackFor(cleanups(t), {})
  // Arrival time of every request at this simulator, 429s included (received() keeps only 2xx).
  const port = Number(new URL(stack.sims.us.url).port)
  const times: number[] = []
  const onStart = (m: unknown): void => {
    const { request, socket } = m as { request: IncomingMessage, socket: Socket }
    if (socket.localPort === port && request.url?.startsWith('/v3/')) times.push(Date.now())
  }
  dc.subscribe('http.server.request.start', onStart)
  t.after(() => { dc.unsubscribe('http.server.request.start', onStart) })

  stack.sims.us.addFault({ status: 429, retryAfter: '3', count: 1 })
  const [msg] = await accept(stack, 'mg.example.com', 1)
  assert.ok(msg)
  const store = onlyPartition(stack).store
  const afterLimit = await eventually(async () => {
    const r = await store.read(msg.id)
    return r && r.history.length >= 1 ? r : undefined
  }, 'the 429 in the history')
  assert.equal(afterLimit.attempts, 0, 'a 429 spends no attempt')
  assert.equal(afterLimit.history[0]?.status, 429)
  assert.equal(afterLimit.history[0]?.outcome, 'retry')

  const sent = await eventually(async () => {
    const r = await store.read(msg.id)
    return r?.status === 'sent' ? r : undefined
  }, 'the message sent after the wait', 10_000)
  assert.equal(times.length, 2, 'one 429, then one send')
  assert.equal(stack.sims.us.requests(), 2)
  const [first = 0, second = 0] = times
  assert.ok(second - first >= 3000, `the retry came ${second - first} ms after the 429`)
  const limited = sent.history[0]
  assert.ok(limited?.nextAttemptAt)
  assert.ok(Date.parse(limited.nextAttemptAt) - Date.parse(limited.at) >= 3000, 'nextAttemptAt honours Retry-After')
  assert.equal(sent.attempts, 1)
  assert.deepEqual(sent.history.map((h) => [h.attempt, h.outcome, h.status]), [[1, 'retry', 429], [1, 'sent', 200]])
  assert.equal(stack.sims.us.received()[0]?.messageId, msg.messageId)
})

test('400 → failed after exactly one request', async (t) => {
  const stack = await stackFor(cleanups(t), {})
  stack.sims.us.addFault({ status: 400, count: 1 })
  const [msg] = await accept(stack, 'mg.example.com', 1)
  assert.ok(msg)
  await allReach(stack, [msg.id], 'failed', 'the message failed', 10_000)
  assert.equal(await onlyPartition(stack).queue.getJobState(msg.id), 'failed', 'BullMQ gave the job up: nothing retries it')
  const [r] = await records(stack, [msg.id])
  assert.equal(r?.attempts, 1)
  assert.deepEqual(r?.history.map((h) => [h.outcome, h.status]), [['failed', 400]])
  assert.equal(stack.sims.us.requests(), 1)
  assert.equal(stack.sims.us.received().length, 0)
})

test('401 for domain A → A held after one request while B keeps sending; then resume', async (t) => {
  const stack = await stackFor(cleanups(t), { domains: [{ name: A, region: 'us' }, { name: B, region: 'us' }] })
  const sim = stack.sims.us
  sim.addFault({ status: 401, domain: A })
  const requestsForA = (): number => sim.requests() - sim.received().filter((m) => m.domain === B).length

  const [first] = await accept(stack, A, 1)
  assert.ok(first)
  await allReach(stack, [first.id], 'failed', 'the rejected message failed', 10_000)
  const held = await eventually(async () => {
    const d = await domainState(stack, A)
    return d.state === 'held' ? d : undefined
  }, 'A held')
  assert.match(held.hold?.reason ?? '', /sending key rejected/)
  assert.equal(requestsForA(), 1)

  const moreA = await accept(stack, A, 10)
  const forB = await accept(stack, B, 10)
  await allReach(stack, forB.map((m) => m.id), 'sent', "B's messages sent", 10_000)
  await allReach(stack, moreA.map((m) => m.id), 'held', "A's messages held", 10_000)
  assert.equal(requestsForA(), 1, 'A was not tried again while held')
  assert.equal((await domainState(stack, B)).state, 'active')

  // Regression: the worker's hold cache (refreshed every second) still had A's hold when the
  // resume promoted A's jobs, so they were deferred again for 5 minutes.
  await t.test('resume releases A and its held messages are sent', async () => {
    sim.clearFaults()
    const resumed = await stack.api.inject({ method: 'POST', url: `/v1/domains/${A}/resume`, headers: stack.auth() })
    assert.equal(resumed.statusCode, 200, resumed.body)
    assert.equal((await domainState(stack, A)).state, 'active')
    await allReach(stack, moreA.map((m) => m.id), 'sent', "A's held messages sent after resume", 5000)
    assertEachOnce(stack, [...moreA, ...forB])
    const [rejected] = await records(stack, [first.id])
    assert.equal(rejected?.status, 'failed', 'the message that met the 401 stays failed (replay is explicit)')
  })
})

/** A private append-only Redis (stopping it disturbs no other test), stopped when the test ends. */
async function privateRedis (defer: Cleanup): Promise<{ current: () => RedisServerHandle, restart: (signal: NodeJS.Signals) => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'mq-resilience-'))
  let redis = await startRedisServer({ dir })
  defer(async () => {
    await redis.stop('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    current: () => redis,
    async restart (signal) {
      await redis.stop(signal)
      redis = await startRedisServer({ dir, port: redis.port })
    }
  }
}

test('Redis (append-only) killed and restarted mid-flow: every accepted message is sent', async (t) => {
  const defer = cleanups(t)
  const redis = await privateRedis(defer)
  const stack = await stackFor(defer, { env: { REDIS_URL: redis.current().url } })
  // Slow answers keep sends in flight (20 at a time) when Redis dies.
  stack.sims.us.setDelay(30)
  const accepted = await accept(stack, 'mg.example.com', 600)
  const ids = accepted.map((a) => a.id)
  await eventually(() => stack.sims.us.received().length >= 100 || undefined, 'the flow to be under way')

  await redis.restart('SIGKILL')
  const sentBefore = stack.sims.us.received().length
  assert.ok(sentBefore < 600, 'Redis died mid-flow')
  await allReach(stack, ids, 'sent', 'all 600 sent after the restart', 60_000)
  const seen = arrivals(stack)
  for (const a of accepted) assert.ok((seen.get(a.messageId) ?? 0) >= 1, `${a.messageId} arrived`)
  const duplicates = stack.sims.us.received().length - seen.size
  // At least once: only sends in flight when Redis died may go twice.
  assert.ok(duplicates <= stack.config.workerConcurrency, `${duplicates} duplicates`)
  t.diagnostic(`${sentBefore} sent before Redis died, ${duplicates} duplicates`)
})

test('Redis restarted under a running worker: the same worker goes on consuming', async (t) => {
  const defer = cleanups(t)
  const redis = await privateRedis(defer)
  const stack = await stackFor(defer, { env: { REDIS_URL: redis.current().url } })
  const before = await accept(stack, 'mg.example.com', 20)
  await allReach(stack, before.map((m) => m.id), 'sent', 'the first 20 sent', 10_000)

  // The worker is idle, blocked waiting for jobs, when its Redis goes away.
  await redis.current().stop('SIGKILL')
  await eventually(async () => (await stack.api.inject({ url: '/readyz' })).statusCode === 503 || undefined, 'the outage to be noticed')
  await redis.restart('SIGTERM')
  await eventually(async () => (await stack.api.inject({ url: '/readyz' })).statusCode === 200 || undefined, 'Redis back', 15_000)

  const after = await accept(stack, 'mg.example.com', 20)
  await allReach(stack, after.map((m) => m.id), 'sent', 'the 20 accepted after the restart sent by the same worker', 20_000)
  assertEachOnce(stack, [...before, ...after])
})
