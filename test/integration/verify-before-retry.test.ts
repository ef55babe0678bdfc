/**
 * Verify before retry, over the whole pipeline with the simulator: an attempt whose answer was lost
 * is checked in Mailgun's Events API (with the domain's account key, never a sending key) before
 * it is sent again; a message Mailgun already took is recorded sent from its event, once.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MessageRecord } from '../../shared/records.js'
import { cleanups, type Cleanup } from '../helpers/cleanups.js'
import { sampleValue } from '../helpers/prometheus.js'
import { accept, arrivals, eventually, partitionOf, startStack, statusesOf, type Accepted, type Stack, type StackOptions } from '../helpers/stack.js'

const VERIFIED = 'verified.example.com'
const PLAIN = 'plain.example.com'

async function stackFor (defer: Cleanup, opts: StackOptions = {}): Promise<Stack> {
  const stack = await startStack({
    domains: [{ name: VERIFIED, region: 'us', primaryKey: true }, { name: PLAIN, region: 'us' }],
    ...opts,
    // A short wait after a lost answer: the simulator's events show at once.
    env: { VERIFY_AFTER_MS: '300', ...opts.env }
  })
  defer(() => stack.close())
  return stack
}

async function sentRecords (stack: Stack, accepted: readonly Accepted[], timeoutMs = 20_000): Promise<MessageRecord[]> {
  const ids = accepted.map((a) => a.id)
  await eventually(async () => (await statusesOf(stack, ids)).every((s) => s === 'sent') || undefined, 'every record sent', timeoutMs)
  return await Promise.all(ids.map(async (id) => await partitionOf(stack, id).store.read(id) as MessageRecord))
}

async function metric (stack: Stack, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const res = await stack.api.inject({ url: '/metrics' })
  return sampleValue(res.body, name, labels)
}

function assertOnlyAccountKey (stack: Stack): void {
  const keys = new Set(stack.sims.us.eventsRequests().map((r) => r.key))
  assert.deepEqual([...keys], keys.size === 0 ? [] : [stack.accountKeys.us], 'the Events API is only ever asked with the account key')
  assert.ok(stack.sims.us.received().every((m) => m.key !== stack.accountKeys.us), 'the account key never sends')
  assert.ok(stack.logs.every((line) => !line.includes(stack.accountKeys.us)), 'the account key is in no log line')
}

test('accepted, then the answer lost (connection dropped): sent once, recorded sent from the accepted event', async (t) => {
  const stack = await stackFor(cleanups(t))
  stack.sims.us.setDropAfterAccept(20)
  const accepted = await accept(stack, VERIFIED, 20)
  const records = await sentRecords(stack, accepted)
  const seen = arrivals(stack)
  for (const a of accepted) assert.equal(seen.get(a.messageId), 1, `${a.messageId} reached Mailgun once`)
  for (const r of records) {
    assert.equal(r.sentAtSource, 'provider-event', r.id)
    assert.equal(r.attempts, 1)
    const arrived = stack.sims.us.received().find((m) => m.messageId === r.messageId)?.at ?? 0
    const sentAt = Date.parse(r.sentAt ?? '')
    assert.ok(sentAt >= arrived - 1 && sentAt <= Date.parse(r.updatedAt), `${r.id}: sentAt ${r.sentAt} is the acceptance`)
    assert.match(r.sentAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.deepEqual(r.history.map((h) => [h.attempt, h.outcome, h.status]), [[1, 'retry', null], [1, 'sent', null]])
    assert.match(r.history[0]?.error ?? '', /may have accepted it/)
  }
  assert.equal(await metric(stack, 'mailqueue_duplicates_avoided_total', { region: 'us', domain: VERIFIED }), 20)
  assertOnlyAccountKey(stack)
})

test('accepted, then answered after SEND_TIMEOUT_MS: sent once, recorded sent from the accepted event', async (t) => {
  const stack = await stackFor(cleanups(t), { env: { SEND_TIMEOUT_MS: '500' } })
  stack.sims.us.setDelay(1500)
  const accepted = await accept(stack, VERIFIED, 5)
  await eventually(() => stack.sims.us.received().length >= 5 || undefined, 'the five accepted')
  // Every answer from now on is prompt: only a resend would show up as a second arrival.
  stack.sims.us.setDelay(0)
  const records = await sentRecords(stack, accepted)
  assert.equal(stack.sims.us.received().length, 5, 'nothing sent twice')
  for (const r of records) {
    assert.equal(r.sentAtSource, 'provider-event')
    assert.match(r.history[0]?.error ?? '', /UND_ERR_HEADERS_TIMEOUT/)
  }
  assertOnlyAccountKey(stack)
})

test('a reset before Mailgun accepted: not found in the events, sent again once', async (t) => {
  const stack = await stackFor(cleanups(t))
  stack.sims.us.setDropConnections(1)
  const [msg] = await accept(stack, VERIFIED, 1)
  assert.ok(msg)
  const [r] = await sentRecords(stack, [msg])
  assert.equal(arrivals(stack).get(msg.messageId), 1)
  assert.equal(r?.sentAtSource, 'provider')
  assert.equal(r?.attempts, 2, 'the resend spends the attempt a retry would have')
  assert.deepEqual(r?.history.map((h) => [h.attempt, h.outcome]), [[1, 'retry'], [1, 'retry'], [2, 'sent']])
  assert.match(r?.history[1]?.error ?? '', /no accepted event/)
  assert.ok(stack.sims.us.eventsRequests().length >= 1, 'the events were checked')
  assert.equal(await metric(stack, 'mailqueue_duplicates_avoided_total', { region: 'us', domain: VERIFIED }), undefined)
  assertOnlyAccountKey(stack)
})

test('the Events API unavailable: sent again, and the history says why', async (t) => {
  const stack = await stackFor(cleanups(t))
  stack.sims.us.addFault({ status: 500, api: 'events' })
  stack.sims.us.setDropAfterAccept(1)
  const [msg] = await accept(stack, VERIFIED, 1)
  assert.ok(msg)
  const [r] = await sentRecords(stack, [msg])
  assert.equal(arrivals(stack).get(msg.messageId), 2, 'unverifiable, so sent again (at least once)')
  assert.match(r?.history[1]?.error ?? '', /could not check.*events API answered 500/)
  assert.equal(r?.history.at(-1)?.outcome, 'sent')
  assertOnlyAccountKey(stack)
})

test('the last attempt\'s answer lost: checked, not given up', async (t) => {
  const stack = await stackFor(cleanups(t), { env: { MAX_ATTEMPTS: '1' } })
  stack.sims.us.setDropAfterAccept(1)
  const [msg] = await accept(stack, VERIFIED, 1)
  assert.ok(msg)
  const [r] = await sentRecords(stack, [msg])
  assert.equal(r?.sentAtSource, 'provider-event')
  assert.equal(arrivals(stack).get(msg.messageId), 1)
})

test('a domain without primaryKey: as before, sent again at once and never looked up', async (t) => {
  const stack = await stackFor(cleanups(t))
  stack.sims.us.setDropAfterAccept(3)
  const accepted = await accept(stack, PLAIN, 3)
  const records = await sentRecords(stack, accepted)
  for (const a of accepted) assert.equal(arrivals(stack).get(a.messageId), 2, 'the known duplicate without an account key')
  for (const r of records) {
    assert.equal(r.sentAtSource, 'provider')
    assert.deepEqual(r.history.map((h) => [h.attempt, h.outcome]), [[1, 'retry'], [2, 'sent']])
  }
  assert.equal(stack.sims.us.eventsRequests().length, 0)
})
