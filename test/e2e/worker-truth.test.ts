/**
 * What several real worker processes (test/helpers/worker-processes.ts) must get right together:
 * a killed worker's sends in flight show in their records (and, with a primaryKey, are not sent
 * twice), and a region outage is probed by one of them at a time.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { freePort } from '../../shared/redis-server.js'
import type { MessageRecord } from '../../shared/records.js'
import { sampleValue } from '../helpers/prometheus.js'
import { accept, arrivals, eventually, onlyPartition, statusesOf } from '../helpers/stack.js'
import { rig, workersOnQueue } from '../helpers/worker-processes.js'

const DOMAIN = 'mg.example.com'

test('kill -9 with sends in flight: a resend shows the attempt whose outcome is unknown; with primaryKey nothing is sent twice', async (t) => {
  const verified = 'verified.example.com'
  const { stack, spawnWorker } = await rig(t, [{ name: DOMAIN, region: 'us' }, { name: verified, region: 'us', primaryKey: true }],
    { WORKER_CONCURRENCY: '10', LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', VERIFY_AFTER_MS: '500' })
  // Answers held back: all six sends are at Mailgun, unanswered, when the worker dies.
  stack.sims.us.setDelay(60_000)
  const plain = await accept(stack, DOMAIN, 3)
  const checked = await accept(stack, verified, 3)
  const first = spawnWorker()
  await eventually(() => stack.sims.us.received().length >= 6 || undefined, 'all six in flight', 30_000)
  first.child.kill('SIGKILL')
  await first.exited
  stack.sims.us.setDelay(0)
  spawnWorker()
  const all = [...plain, ...checked]
  await eventually(async () => (await statusesOf(stack, all.map((m) => m.id))).every((s) => s === 'sent') || undefined, 'all six sent', 60_000)
  const seen = arrivals(stack)
  const read = async (id: string): Promise<MessageRecord> => await onlyPartition(stack).store.read(id) as MessageRecord
  for (const m of plain) {
    assert.equal(seen.get(m.messageId), 2, 'at least once: the send in flight went again')
    const r = await read(m.id)
    assert.deepEqual(r.history.map((h) => [h.attempt, h.outcome, h.status]), [[1, 'retry', null], [1, 'sent', 200]])
    assert.match(r.history[0]?.error ?? '', /worker stopped/)
  }
  for (const m of checked) {
    assert.equal(seen.get(m.messageId), 1, 'verified before the resend: sent once')
    const r = await read(m.id)
    assert.equal(r.sentAtSource, 'provider-event')
    assert.deepEqual(r.history.map((h) => [h.attempt, h.outcome, h.status]), [[1, 'retry', null], [1, 'sent', null]])
  }
})

test('a region outage with two worker processes: one probe at a time across both, and both resume', async (t) => {
  const { stack, spawnWorker } = await rig(t, [{ name: DOMAIN, region: 'us' }], { WORKER_CONCURRENCY: '10' })
  const ports = [await freePort(), await freePort()]
  const workers = ports.map((port) => spawnWorker({ WORKER_PORT: String(port) }))
  await eventually(async () => await workersOnQueue(stack) >= 2 || undefined, 'both worker processes on the queue', 30_000)
  stack.sims.us.addFault({ status: 503, forMs: 12_000 })
  const accepted = await accept(stack, DOMAIN, 200)
  await eventually(async () => (await statusesOf(stack, accepted.map((a) => a.id))).every((s) => s === 'sent') || undefined, 'all sent after the outage', 60_000)
  // Every failed probe is in its message's history, whichever process sent it. Alone, a worker
  // probes 1, 3 and 7 s into a 12 s hold; two on their own would probe twice as often, in pairs.
  const store = onlyPartition(stack).store
  const probes = (await Promise.all(accepted.map(async (a) => (await store.read(a.id))?.history ?? [])))
    .flat().filter((h) => h.error?.startsWith('region us probe failed')).map((h) => Date.parse(h.at)).sort((a, b) => a - b)
  assert.ok(probes.length >= 1 && probes.length <= 4, `${probes.length} failed probes`)
  const gaps = probes.slice(1).map((at, i) => at - (probes[i] as number))
  assert.ok(gaps.every((gap) => gap >= 900), `one probe at a time: ${gaps.join(', ')} ms apart`)
  for (const [i, p] of ports.entries()) {
    const text = await (await fetch(`http://127.0.0.1:${p}/metrics`)).text()
    assert.ok((sampleValue(text, 'mailqueue_send_duration_seconds_count', { region: 'us', outcome: 'sent' }) ?? 0) > 0, `worker ${i} resumed`)
  }
  for (const w of workers) assert.equal(w.child.exitCode, null, `a worker died: ${w.output()}`)
  t.diagnostic(`${probes.length} failed probes, ${gaps.join(', ')} ms apart`)
})
