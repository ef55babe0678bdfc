import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createOutageTracker, isOutageAnswer } from '../../services/worker/outage.js'

const OPTS = { threshold: 3, probeBaseMs: 1000, probeCapMs: 30_000 }

test('the region is held on the failure that reaches the threshold, once', () => {
  const t = createOutageTracker(OPTS)
  assert.deepEqual(t.recordFailure(100), { held: false, justHeld: false })
  assert.deepEqual(t.recordFailure(200), { held: false, justHeld: false })
  assert.equal(t.isHeld(), false)
  assert.deepEqual(t.recordFailure(300), { held: true, justHeld: true })
  assert.equal(t.isHeld(), true)
  assert.equal(t.heldSince(), 300)
  assert.deepEqual(t.recordFailure(400), { held: true, justHeld: false })
  assert.equal(t.heldSince(), 300)
})

test('a success between failures resets the count', () => {
  const t = createOutageTracker(OPTS)
  t.recordFailure(1)
  t.recordFailure(2)
  assert.deepEqual(t.recordSuccess(), { resumed: false })
  assert.deepEqual(t.recordFailure(3), { held: false, justHeld: false })
  assert.deepEqual(t.recordFailure(4), { held: false, justHeld: false })
  assert.equal(t.recordFailure(5).justHeld, true)
})

test('a success resumes a held region, then the count starts over', () => {
  const t = createOutageTracker(OPTS)
  for (let i = 0; i < 3; i++) t.recordFailure(i)
  assert.deepEqual(t.recordSuccess(), { resumed: true })
  assert.equal(t.isHeld(), false)
  assert.equal(t.heldSince(), null)
  assert.deepEqual(t.recordSuccess(), { resumed: false })
  assert.deepEqual(t.recordFailure(10), { held: false, justHeld: false })
})

test('threshold 1 holds on the first failure', () => {
  const t = createOutageTracker({ ...OPTS, threshold: 1 })
  assert.deepEqual(t.recordFailure(7), { held: true, justHeld: true })
})

test('a threshold below 1 is a bug', () => {
  assert.throws(() => createOutageTracker({ ...OPTS, threshold: 0 }), RangeError)
})

test('probe intervals grow and stop at the cap', () => {
  const t = createOutageTracker(OPTS)
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((n) => t.nextProbeDelayMs(n)),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000])
})

test('only 5xx and transport failures count as outage', () => {
  const http = (status: number) => ({ kind: 'http' as const, status, headers: {}, body: '' })
  for (const status of [500, 502, 503, 504]) assert.equal(isOutageAnswer(http(status)), true)
  for (const status of [200, 400, 401, 403, 404, 408, 413, 420, 429]) assert.equal(isOutageAnswer(http(status)), false)
  assert.equal(isOutageAnswer({ kind: 'transport', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }), true)
})
