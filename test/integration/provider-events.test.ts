/**
 * The Events API lookup behind verify-before-retry, over real HTTP to the Mailgun simulator:
 * found, found on a later page, not found, not yet visible, and every way it must give
 * `unavailable` instead of an answer (wrong key, down, slow, a next page elsewhere, a bad body).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { startSimulator, type Simulator } from '../../services/mailgun-sim/server.js'
import { createProviderEvents, MAX_PAGES, type AcceptedLookup, type ProviderEvents } from '../../services/worker/provider-events.js'
import { Secret } from '../../shared/secret.js'
import { eventually } from '../helpers/stack.js'

const DOMAIN = 'mg.lookup.test'
const KEY = 'sending-key-lookup'
const ACCOUNT = 'account-key-lookup'
const account = new Secret(ACCOUNT)

const basic = (key: string): string => 'Basic ' + Buffer.from(`api:${key}`).toString('base64')

/** Sends one message straight to the simulator, as the worker does; the accept time window. */
async function send (sim: Simulator, messageId: string, to = 'user@example.com'): Promise<{ before: number, after: number }> {
  const before = Date.now()
  const res = await request(`${sim.url}/v3/${DOMAIN}/messages`, {
    method: 'POST',
    headers: { authorization: basic(KEY), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ from: `shop@${DOMAIN}`, to, subject: 'Hi', text: 'Hello', 'h:Message-Id': messageId }).toString()
  })
  await res.body.dump()
  assert.equal(res.statusCode, 200)
  return { before, after: Date.now() }
}

/** `count` messages of other ids, 25 at a time. */
async function sendMany (sim: Simulator, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 25) {
    await Promise.all(Array.from({ length: Math.min(25, count - i) }, (_, j) => send(sim, `<${prefix}.${i + j}@mg.lookup.test>`)))
  }
}

function lookupFor (sim: Simulator | string, timeoutMs = 2000): ProviderEvents {
  const url = typeof sim === 'string' ? sim : sim.url
  return createProviderEvents({ baseUrl: { us: url, eu: url }, timeoutMs })
}

function unavailable (r: AcceptedLookup, reason: RegExp): void {
  assert.equal(r.kind, 'unavailable', JSON.stringify(r))
  assert.match((r as { reason: string }).reason, reason)
  assert.ok(!(r as { reason: string }).reason.includes(ACCOUNT), 'the key is in no reason')
}

describe('provider events lookup', () => {
  let sim: Simulator
  let lookup: ProviderEvents
  before(async () => {
    sim = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }], accountKey: ACCOUNT })
    lookup = lookupFor(sim)
  })
  after(async () => {
    await lookup.close()
    await lookup.close() // idempotent
    await sim.close()
  })

  test('found: the accepted event\'s time, looked up by the bare id with the account key only', async () => {
    sim.reset()
    await send(sim, '<other.1@mg.lookup.test>')
    const window = await send(sim, '<found.1@mg.lookup.test>', 'a@example.com, b@example.com')
    const r = await lookup.findAccepted('us', DOMAIN, '<found.1@mg.lookup.test>', account)
    assert.equal(r.kind, 'accepted', JSON.stringify(r))
    const at = (r as { at: number }).at
    assert.ok(Number.isInteger(at) && at >= window.before && at <= window.after, `${at} within the send`)
    assert.deepEqual(sim.eventsRequests().map((q) => [q.domain, q.key, q.status]), [[DOMAIN, ACCOUNT, 200]])
    assert.equal(sim.received().length, 2, 'a lookup sends nothing')
  })

  test('found on a later page: items of other messages are skipped and paging.next followed', async () => {
    sim.reset()
    const window = await send(sim, '<paged.1@mg.lookup.test>')
    await sendMany(sim, 'newer', 100)
    sim.setLooseMessageIdFilter(true) // Mailgun's filter has returned other messages' events (mailgun.js#296)
    const r = await lookup.findAccepted('us', DOMAIN, '<paged.1@mg.lookup.test>', account)
    assert.equal(r.kind, 'accepted', JSON.stringify(r))
    assert.ok((r as { at: number }).at >= window.before && (r as { at: number }).at <= window.after)
    assert.equal(sim.eventsRequests().length, 2, 'two pages (100 newer events first)')
    assert.ok(sim.eventsRequests().every((q) => q.key === ACCOUNT))
  })

  test('not found: a message Mailgun never accepted, also when the listing has only other messages', async () => {
    sim.reset()
    await send(sim, '<someone.else@mg.lookup.test>')
    assert.deepEqual(await lookup.findAccepted('us', DOMAIN, '<never.1@mg.lookup.test>', account), { kind: 'not-found' })
    sim.setLooseMessageIdFilter(true)
    assert.deepEqual(await lookup.findAccepted('us', DOMAIN, '<never.1@mg.lookup.test>', account), { kind: 'not-found' })
    assert.equal(sim.eventsRequests().length, 3, 'the loose listing: one page of others, then the empty page')
  })

  test('an event not yet visible is not found; once it shows, it is', async () => {
    sim.reset()
    sim.setEventDelay(400)
    await send(sim, '<slow.1@mg.lookup.test>')
    assert.deepEqual(await lookup.findAccepted('us', DOMAIN, '<slow.1@mg.lookup.test>', account), { kind: 'not-found' })
    await eventually(async () => (await lookup.findAccepted('us', DOMAIN, '<slow.1@mg.lookup.test>', account)).kind === 'accepted' || undefined, 'the event to show')
  })

  test('a sending key is refused (401 Forbidden): unavailable, with Mailgun\'s words', async () => {
    sim.reset()
    await send(sim, '<k.1@mg.lookup.test>')
    const r = await lookup.findAccepted('us', DOMAIN, '<k.1@mg.lookup.test>', new Secret(KEY))
    unavailable(r, /401: Forbidden/)
    assert.ok(!(r as { reason: string }).reason.includes(KEY))
    assert.deepEqual(sim.eventsRequests().map((q) => q.key), [KEY])
  })

  test('a 5xx or an unreadable body is unavailable', async () => {
    sim.reset()
    await send(sim, '<e.1@mg.lookup.test>')
    sim.addFault({ status: 503, api: 'events', count: 1 })
    unavailable(await lookup.findAccepted('us', DOMAIN, '<e.1@mg.lookup.test>', account), /503: \{"message":"Service Unavailable"\}/)
    sim.addFault({ status: 200, api: 'events', count: 1, body: '<html>maintenance</html>' })
    unavailable(await lookup.findAccepted('us', DOMAIN, '<e.1@mg.lookup.test>', account), /not JSON/)
    sim.addFault({ status: 200, api: 'events', count: 1, body: '{"paging":{}}' })
    unavailable(await lookup.findAccepted('us', DOMAIN, '<e.1@mg.lookup.test>', account), /no items/)
    assert.equal((await lookup.findAccepted('us', DOMAIN, '<e.1@mg.lookup.test>', account)).kind, 'accepted', 'then it answers again')
  })

  test('a slow Events API is unavailable once the deadline passes', async () => {
    sim.reset()
    await send(sim, '<t.1@mg.lookup.test>')
    sim.setDelay(3000, 'events')
    const quick = lookupFor(sim, 200)
    try {
      const t0 = Date.now()
      unavailable(await quick.findAccepted('us', DOMAIN, '<t.1@mg.lookup.test>', account), /did not answer/)
      assert.ok(Date.now() - t0 < 2500, 'gave up at its deadline')
    } finally {
      await quick.close()
      sim.setDelay(0, 'events')
    }
  })

  test('a next page on another origin is not followed: the key goes nowhere else', async () => {
    const elsewhere = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }], accountKey: ACCOUNT })
    const redirecting = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }], accountKey: ACCOUNT, publicUrl: elsewhere.url })
    const lookupRedirecting = lookupFor(redirecting)
    try {
      await send(redirecting, '<someone.else@mg.lookup.test>')
      redirecting.setLooseMessageIdFilter(true) // a first page with items, none ours
      unavailable(await lookupRedirecting.findAccepted('us', DOMAIN, '<x.1@mg.lookup.test>', account), /another origin/)
      assert.equal(redirecting.eventsRequests().length, 1)
      assert.deepEqual(elsewhere.eventsRequests(), [], 'nothing reached the other origin')
    } finally {
      await lookupRedirecting.close()
      await redirecting.close()
      await elsewhere.close()
    }
  })

  test('the page cap ends a listing that never matches', async () => {
    sim.reset()
    await sendMany(sim, 'filler', MAX_PAGES * 100 + 1)
    sim.setLooseMessageIdFilter(true)
    unavailable(await lookup.findAccepted('us', DOMAIN, '<absent@mg.lookup.test>', account), new RegExp(`${MAX_PAGES} pages`))
    assert.equal(sim.eventsRequests().length, MAX_PAGES)
  })
})

test('a simulator that is down: unavailable', async () => {
  const gone = await startSimulator({ domains: [{ name: DOMAIN, sendingKey: KEY }], accountKey: ACCOUNT })
  await gone.close()
  const lookup = lookupFor(gone.url)
  try {
    unavailable(await lookup.findAccepted('eu', DOMAIN, '<d.1@mg.lookup.test>', account), /did not answer: ECONNREFUSED/)
  } finally { await lookup.close() }
})
