import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import { createDomainRate, type DomainRate } from '../../services/worker/domain-rate.js'
import { regionKeys } from '../../shared/keys.js'
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js'

const url = testRedisUrl()
const workerA = new Redis(url)
const workerB = new Redis(url)
const prefix = uniquePrefix()
after(async () => {
  const keys = await workerA.keys(`${prefix}:*`)
  if (keys.length > 0) await workerA.del(...keys)
  await Promise.all([workerA.quit(), workerB.quit()])
})

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0)
let domainSeq = 0
const freshDomain = (): string => `d${++domainSeq}.example.com`

/**
 * Greedy callers with a fake clock: each asks in turn, and whoever is told to wait advances its
 * clock by exactly that much. Returns the grants per whole second since T0.
 */
async function drive (rates: DomainRate[], domain: string, ratePerSecond: number, untilMs: number): Promise<{ perSecond: number[]; byCaller: number[] }> {
  const clocks = rates.map(() => T0)
  const perSecond = Array.from({ length: Math.ceil(untilMs / 1000) }, () => 0)
  const byCaller = rates.map(() => 0)
  const lastTurn = rates.map(() => 0)
  for (let turn = 1; ; turn++) {
    // The caller with the earliest clock goes next, as if they all ran on one timeline; on a tie,
    // the one that waited longest for its turn.
    const i = clocks.reduce((best, c, j) => c < clocks[best]! || (c === clocks[best] && lastTurn[j]! < lastTurn[best]!) ? j : best, 0)
    lastTurn[i] = turn
    const now = clocks[i]!
    if (now >= T0 + untilMs) break
    const wait = await rates[i]!.take(domain, ratePerSecond, now)
    if (wait === 0) {
      perSecond[Math.floor((now - T0) / 1000)]! += 1
      byCaller[i]! += 1
    } else {
      assert.ok(wait >= 1 && wait <= 1000 / ratePerSecond * 2, `sensible wait: ${wait}`)
      clocks[i] = now + wait
    }
  }
  return { perSecond, byCaller }
}

test('rate 20: the burst, then exactly 20 grants in every second', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  const { perSecond } = await drive([rate], freshDomain(), 20, 5000)
  // First second: the saved-up burst (100 ms of the rate = 2 tokens) plus 19 refills at 50 ms.
  assert.deepEqual(perSecond, [21, 20, 20, 20, 20])
})

test('two worker processes share one bucket', async () => {
  const a = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  const b = createDomainRate(workerB, regionKeys(prefix, 'us').rate)
  const { perSecond, byCaller } = await drive([a, b], freshDomain(), 20, 4000)
  assert.deepEqual(perSecond, [21, 20, 20, 20])
  assert.ok(byCaller[0]! > 10 && byCaller[1]! > 10, `both workers sent: ${byCaller.join(', ')}`)
})

test('wait times: exactly until the next token', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  const domain = freshDomain()
  assert.equal(await rate.take(domain, 20, T0), 0)
  assert.equal(await rate.take(domain, 20, T0), 0)
  assert.equal(await rate.take(domain, 20, T0), 50)
  assert.equal(await rate.take(domain, 20, T0 + 30), 20)
  assert.equal(await rate.take(domain, 20, T0 + 50), 0)
  // A slow rate: one token, then a wait of a whole 1/rate.
  const slow = freshDomain()
  assert.equal(await rate.take(slow, 0.5, T0), 0)
  assert.equal(await rate.take(slow, 0.5, T0), 2000)
  assert.equal(await rate.take(slow, 0.5, T0 + 1999), 1)
  assert.equal(await rate.take(slow, 0.5, T0 + 2000), 0)
})

test('domains have their own buckets', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  const [d1, d2] = [freshDomain(), freshDomain()]
  assert.equal(await rate.take(d1, 1, T0), 0)
  assert.ok(await rate.take(d1, 1, T0) > 0)
  assert.equal(await rate.take(d2, 1, T0), 0)
})

test('slowDown halves the rate for a while, then it comes back', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  const domain = freshDomain()
  await rate.slowDown(domain, 3000, T0)
  const { perSecond } = await drive([rate], domain, 20, 5000)
  // Slowed for [T0, T0+3s): 10/s with a 1-token burst; then 20/s again.
  assert.deepEqual(perSecond, [10, 10, 10, 20, 20])
})

test('slowDown never goes below 1/s', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  for (const r of [1, 1.5]) {
    const domain = freshDomain()
    await rate.slowDown(domain, 10_000, T0)
    const { perSecond } = await drive([rate], domain, r, 3000)
    assert.deepEqual(perSecond, [1, 1, 1])
  }
})

test('a worker whose clock is behind waits for the difference, never double refills', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  const domain = freshDomain()
  for (let i = 0; i < 2; i++) assert.equal(await rate.take(domain, 20, T0 + 1000), 0)
  // 200 ms behind the last refill: told to wait those 200 ms plus one token.
  assert.equal(await rate.take(domain, 20, T0 + 800), 250)
})

test('a clock far ahead does not stall the domain', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  const domain = freshDomain()
  assert.equal(await rate.take(domain, 20, T0 + 3_600_000), 0)
  // More than maxClockSkewMs (5 s) behind: the bucket restarts from this caller's clock.
  assert.equal(await rate.take(domain, 20, T0), 0)
})

test('the bucket key expires when idle', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  const domain = freshDomain()
  await rate.take(domain, 20, T0)
  const ttl = await workerA.pttl(`${prefix}:rate:${domain}`)
  assert.ok(ttl > 0 && ttl <= 1100, `pttl ${ttl}`)
  await rate.slowDown(domain, 30_000, T0)
  const slowTtl = await workerA.pttl(`${prefix}:rate:${domain}`)
  assert.ok(slowTtl > 30_000 && slowTtl <= 90_000, `pttl ${slowTtl}`)
})

test('bulk takes only what transactional leaves: a waiting transactional send reserves the rate past its wait', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  const other = createDomainRate(workerB, regionKeys(prefix, 'us').rate)
  const domain = freshDomain()
  assert.equal(await rate.take(domain, 10, T0, 'bulk'), 0, 'a full bucket serves bulk too')
  assert.equal(await rate.take(domain, 10, T0, 'transactional'), 100, 'transactional waits for the next token')
  // Reserved until T0 + 100 + 250 ms, for every worker: bulk is told to come back then.
  assert.equal(await other.take(domain, 10, T0 + 50, 'bulk'), 300)
  assert.equal(await other.take(domain, 10, T0 + 100, 'bulk'), 250, 'the token that came is not bulk\'s')
  assert.equal(await rate.take(domain, 10, T0 + 100, 'transactional'), 0)
  assert.equal(await other.take(domain, 10, T0 + 350, 'bulk'), 0, 'after the reservation bulk takes again')
  // Bulk waiting reserves nothing.
  assert.equal(await other.take(domain, 10, T0 + 350, 'bulk'), 100)
  assert.equal(await rate.take(domain, 10, T0 + 450, 'transactional'), 0)
})

test('unlimited needs no Redis; a rate of 0 is a bug', async () => {
  const rate = createDomainRate(workerA, regionKeys(prefix, 'us').rate)
  assert.equal(await rate.take(freshDomain(), Infinity, T0), 0)
  await assert.rejects(rate.take(freshDomain(), 0, T0), RangeError)
})
