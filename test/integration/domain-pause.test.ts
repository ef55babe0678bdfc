import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Status } from '../../shared/records.js'
import { cleanups } from '../helpers/cleanups.js'
import { accept, eventually, startStack, statusesOf, type Stack } from '../helpers/stack.js'

const PAUSED = 'paused.example.com'
const OTHER = 'other.example.com'

async function allReach (stack: Stack, ids: readonly string[], status: Status, what: string): Promise<void> {
  await eventually(async () => (await statusesOf(stack, ids)).every((s) => s === status) || undefined, what, 10_000)
}

// The worker starts after the pause: a manual hold has no fingerprint, so the start-up sweep of
// stale holds (a changed key or region) must leave it alone.
test('a domain paused by hand holds its messages without spending attempts, and sends them after resume', async (t) => {
  const stack = await startStack({ domains: [{ name: PAUSED, region: 'us' }, { name: OTHER, region: 'us' }], worker: false })
  cleanups(t)(() => stack.close())
  await eventually(() => [...stack.links.links.values()].every((l) => l.storeRedis.status === 'ready') || undefined, 'redis connections ready')
  const sim = stack.sims.us

  const paused = await stack.api.inject({ method: 'POST', url: `/v1/domains/${PAUSED}/pause`, headers: stack.auth(), payload: { reason: 'list under review' } })
  assert.equal(paused.statusCode, 200, paused.body)
  await stack.startWorker()

  const held = await accept(stack, PAUSED, 5)
  const others = await accept(stack, OTHER, 5)
  await allReach(stack, others.map((m) => m.id), 'sent', "the other domain's messages sent")
  await allReach(stack, held.map((m) => m.id), 'held', "the paused domain's messages held")
  assert.equal(sim.requests(), others.length, 'nothing of the paused domain reached Mailgun')
  for (const id of held.map((m) => m.id)) {
    const record = (await stack.api.inject({ url: `/v1/messages/${id}`, headers: stack.auth() })).json()
    assert.equal(record.status, 'held')
    assert.equal(record.attempts, 0, 'a hold spends no attempt')
    assert.deepEqual(record.history, [])
  }
  const listed = (await stack.api.inject({ url: '/v1/domains', headers: stack.auth() })).json().domains as Array<{ name: string, state: string, hold?: { reason: string } }>
  assert.deepEqual(listed.find((d) => d.name === PAUSED)?.hold?.reason, 'list under review')

  const resumed = await stack.api.inject({ method: 'POST', url: `/v1/domains/${PAUSED}/resume`, headers: stack.auth() })
  assert.equal(resumed.statusCode, 200, resumed.body)
  // Well before the 5 minutes a held message waits at most: the resume promotes them.
  await allReach(stack, held.map((m) => m.id), 'sent', "the paused domain's messages sent after resume")
  const arrived = sim.received().filter((m) => m.domain === PAUSED).map((m) => m.messageId).sort()
  assert.deepEqual(arrived, held.map((m) => m.messageId).sort(), 'each held message sent once')
  for (const id of held.map((m) => m.id)) {
    const record = (await stack.api.inject({ url: `/v1/messages/${id}`, headers: stack.auth() })).json()
    assert.equal(record.attempts, 1)
  }
})
