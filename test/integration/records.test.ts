import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { partitionKeys, type PartitionKeys } from '../../shared/keys.js'
import { RecordStore, type Outcome } from '../../shared/records.js'
import { createRedis, type RedisClient } from '../../shared/redis.js'
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js'

// writeAhead lets the worker move a job without waiting for its outcome's round trip. That is
// only safe because the job move follows on the same connection: these tests hold it to that.
let queueRedis: RedisClient
let storeRedis: RedisClient
let keys: PartitionKeys
let store: RecordStore
before(() => {
  queueRedis = createRedis({ kind: 'single', url: testRedisUrl() }, 'worker', 'test-queue')
  storeRedis = createRedis({ kind: 'single', url: testRedisUrl() }, 'worker', 'test-store')
  keys = partitionKeys(uniquePrefix(), 'us')
  store = new RecordStore({ redis: storeRedis, queueRedis, keys, outcomeTtlDays: 1 })
})
after(async () => { await Promise.all([queueRedis.quit(), storeRedis.quit()]) })

function sent (): Outcome {
  const id = `us-${randomUUID()}`
  return {
    job: { id, messageId: `<${id.slice(3)}@mg.example.com>`, domain: 'mg.example.com', region: 'us', createdAt: Date.now() - 1000, sendAt: null },
    status: 'sent',
    attempts: 1,
    at: Date.now(),
    error: null,
    entry: { attempt: 1, outcome: 'sent', status: 200, error: null, nextAttemptAt: null }
  }
}

test('writeAhead resolves before Redis has run the write, and what follows on the queue connection runs after it', async () => {
  // A blocking pop holds the queue connection: nothing sent after it runs until the gate opens.
  const gate = `${keys.space}:gate`
  const held = queueRedis.blpop(gate, 10)
  const early = sent()
  let acked = false
  const ahead = store.writeAhead(early, (err) => { throw err })
  const full = store.write(sent()).then(() => { acked = true })
  await ahead
  assert.equal(acked, false, 'write() waits for Redis; writeAhead() only for the connection')
  const seen = queueRedis.get(keys.record(early.job.id))
  await storeRedis.rpush(gate, 'open')
  await held
  await full
  assert.equal(JSON.parse(await seen ?? 'null')?.status, 'sent', 'a command sent after writeAhead sees the outcome')
  assert.equal((await store.read(early.job.id))?.history.length, 1)
})

test('a writeAhead that Redis refuses goes to onFailure', async () => {
  // A stream key of the wrong type makes every write of this store fail.
  const broken = partitionKeys(uniquePrefix(), 'us')
  await storeRedis.set(broken.outcomes, 'not a stream')
  const brokenStore = new RecordStore({ redis: storeRedis, queueRedis, keys: broken, outcomeTtlDays: 1 })
  const failure = new Promise<Error>((resolve) => { void brokenStore.writeAhead(sent(), resolve) })
  assert.match((await failure).message, /WRONGTYPE/)
})

test('a record of the earlier format (a hash) is started over, not a failed batch', async () => {
  const old = sent()
  const other = sent()
  await storeRedis.hset(keys.record(old.job.id), 'r', '{}')
  await Promise.all([store.write(old), store.write(other)])
  assert.equal((await store.read(old.job.id))?.status, 'sent')
  assert.equal((await store.read(other.job.id))?.status, 'sent')
})

test('the failed index takes failures and lets go of retried messages', async () => {
  const o = sent()
  await store.write({ ...o, status: 'failed', error: 'HTTP 400', entry: { attempt: 1, outcome: 'failed', status: 400, error: 'HTTP 400', nextAttemptAt: null } })
  assert.deepEqual(await store.indexRange('failed', '+inf', '-inf'), [{ id: o.job.id, at: o.at }])
  await store.write({ ...o, status: 'queued', attempts: 0, at: o.at + 1, entry: undefined })
  assert.deepEqual(await store.indexRange('failed', '+inf', '-inf'), [])
})

test('a record keeps every outcome: the last one\'s fields, all their history entries in order, one stream entry each', async () => {
  const first = sent()
  const retry: Outcome = { ...first, status: 'retrying', error: 'HTTP 503', entry: { attempt: 1, outcome: 'retry', status: 503, error: 'HTTP 503', nextAttemptAt: new Date(first.at + 1000).toISOString() } }
  const done: Outcome = { ...first, attempts: 2, at: first.at + 1000, entry: { attempt: 2, outcome: 'sent', status: 200, error: null, nextAttemptAt: null } }
  await store.write(retry)
  await store.write(done)
  const record = await store.read(first.job.id)
  assert.equal(record?.status, 'sent')
  assert.equal(record?.attempts, 2)
  assert.equal(record?.error, null)
  assert.deepEqual(record?.history.map((h) => [h.attempt, h.outcome, h.status, h.at]),
    [[1, 'retry', 503, new Date(first.at).toISOString()], [2, 'sent', 200, new Date(first.at + 1000).toISOString()]])
  const entries = (await storeRedis.xrange(keys.outcomes, '-', '+')).map(([, fields]) => fields)
  const mine = entries.filter(([, json]) => JSON.parse(json as string).id === first.job.id)
  assert.deepEqual(mine.map(([field, json]) => [field, JSON.parse(json as string).status]), [['outcome', 'retrying'], ['outcome', 'sent']])
})

test('entering the held index writes a line only the first time; leaving it takes the message out', async () => {
  const o = sent()
  const held: Outcome = { ...o, status: 'held', attempts: 0, error: 'region us keeps failing', entry: undefined, held: 'enter' }
  await store.write(held)
  await store.write({ ...held, at: o.at + 5000 })
  assert.equal(await storeRedis.zscore(keys.held, o.job.id), String(o.at), 'in the index since it became held')
  assert.equal((await storeRedis.get(keys.record(o.job.id)))?.split('\n').length, 1, 'held again is no new line')
  const streamed = (await storeRedis.xrange(keys.outcomes, '-', '+')).filter(([, f]) => JSON.parse(f[1] as string).id === o.job.id)
  assert.equal(streamed.length, 1, 'nor a stream entry')
  assert.equal(await storeRedis.hget(keys.stats, 'held|us|mg.example.com'), '1', 'counted once')
  await store.write({ ...o, at: o.at + 6000, held: 'leave', status: 'failed', error: 'outage limit' })
  assert.equal(await storeRedis.zscore(keys.held, o.job.id), null)
  assert.equal((await store.read(o.job.id))?.status, 'failed')
})

test('sent and failed are counted per minute and domain, in the minute of the outcome', async () => {
  const minute = 29_000_000
  const at = minute * 60_000 + 59_990
  const next = at + 20
  const done = sent()
  await Promise.all([
    store.write({ ...done, at }),
    store.write({ ...sent(), at, status: 'failed', error: 'HTTP 400' }),
    store.write({ ...sent(), at, status: 'retrying' }),
    store.write({ ...sent(), at: next })
  ])
  assert.deepEqual(await storeRedis.hgetall(keys.minute(minute)), { 'sent|mg.example.com': '1', 'failed|mg.example.com': '1' })
  assert.deepEqual(await storeRedis.hgetall(keys.minute(minute + 1)), { 'sent|mg.example.com': '1' })
  assert.equal((await store.read(done.job.id))?.status, 'sent')
})
