/**
 * Every message findable: listed in any status newest first with a cursor, by domain and by
 * client; found by its Message-Id, ours or one the caller chose; reached by webhook events either
 * way. On the single Redis and on a cluster with partitions (the indexes are per partition).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import type { MessageRecord } from '../../shared/records.js'
import { operatorStack } from '../helpers/operator-stack.js'
import { clusterSkip, eventually, message, type Stack, type StackOptions } from '../helpers/stack.js'

describe('listing and finding messages, single Redis', () => { listingTests({}) })
describe('listing and finding messages, Redis Cluster with 3 partitions per region', { skip: clusterSkip() }, () => {
  listingTests({ cluster: true, partitions: 3 })
})

interface Page { records: MessageRecord[], cursor: string | null }

function listingTests (target: Pick<StackOptions, 'cluster' | 'partitions'>): void {
  let stack: Stack
  before(async () => { stack = await operatorStack(target) })
  after(async () => { await stack.close() })

  const send = async (domain: string, extra: Record<string, unknown> = {}): Promise<{ id: string, messageId: string }> => {
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message(domain, extra) })
    assert.equal(res.statusCode, 202, res.body)
    return res.json()
  }
  const record = async (id: string): Promise<MessageRecord> => (await stack.api.inject({ url: `/v1/messages/${id}`, headers: stack.auth() })).json()
  const reaches = (id: string, status: string): Promise<MessageRecord> =>
    eventually(async () => { const r = await record(id); return r.status === status ? r : undefined }, `${id} ${status}`)
  const list = async (query: string, client = 'main'): Promise<{ statusCode: number, body: Page }> => {
    const res = await stack.api.inject({ url: `/v1/messages?${query}`, headers: stack.auth(client) })
    return { statusCode: res.statusCode, body: res.json() }
  }
  /** Every page of a listing, following the cursor. */
  const listAll = async (query: string, client = 'main'): Promise<MessageRecord[]> => {
    const seen: MessageRecord[] = []
    let cursor: string | null = null
    for (let pages = 0; pages < 100; pages++) {
      const page = await list(`${query}${cursor ? `&cursor=${cursor}` : ''}`, client)
      assert.equal(page.statusCode, 200, JSON.stringify(page.body))
      seen.push(...page.body.records)
      cursor = page.body.cursor
      if (cursor === null) return seen
    }
    throw new Error(`${query}: more than 100 pages`)
  }
  const signed = (domain: string, event: Record<string, unknown>): Record<string, unknown> => {
    const token = randomBytes(25).toString('hex')
    const timestamp = String(Math.floor(Date.now() / 1000))
    const signature = createHmac('sha256', stack.webhookKeys[domain] as string).update(timestamp + token).digest('hex')
    return { signature: { timestamp, token, signature }, 'event-data': event }
  }
  const webhook = (domain: string, messageId: string) => {
    const event = { event: 'delivered', timestamp: Date.now() / 1000, message: { headers: { 'message-id': messageId } }, domain: { name: domain } }
    return stack.api.inject({ method: 'POST', url: '/v1/webhooks/mailgun', payload: signed(domain, event) })
  }
  /** A /v3 send (urlencoded, as Mailgun SDKs post) with the Message-Id the caller chose. */
  const sendV3 = async (domain: string, messageId: string): Promise<void> => {
    const body = new URLSearchParams({ from: `shop@${domain}`, to: 'user@example.com', text: 'hi', 'h:Message-Id': messageId }).toString()
    const res = await stack.api.inject({ method: 'POST', url: `/v3/${domain}/messages`, headers: { ...stack.auth(), 'content-type': 'application/x-www-form-urlencoded' }, payload: body })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().id, messageId)
  }

  test('every status is listed, newest first, with a cursor, by domain and only for the client\'s domains', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString()
    const sent = await send('mg.example.com')
    await reaches(sent.id, 'sent')
    stack.sims.us.addFault({ status: 400, domain: 'mg.example.com', count: 1 })
    const failed = await send('mg.example.com')
    await reaches(failed.id, 'failed')
    const scheduled = await send('mg.example.com', { sendAt: later })
    const cancelled = await send('mg.example.com', { sendAt: later })
    assert.equal((await stack.api.inject({ method: 'DELETE', url: `/v1/messages/${cancelled.id}`, headers: stack.auth() })).statusCode, 200)
    stack.sims.us.addFault({ status: 429, retryAfter: '3600', domain: 'mg.other.com', count: 1 })
    const retrying = await send('mg.other.com')
    await reaches(retrying.id, 'retrying')
    const held = await send('mg.held.com')
    await reaches(held.id, 'held')
    const queued = await send('mg.example.eu')
    const queuedBulk = await send('mg.example.eu', { lane: 'bulk' })

    const expected: Record<string, string[]> = {
      sent: [sent.id], failed: [failed.id], scheduled: [scheduled.id], cancelled: [cancelled.id],
      retrying: [retrying.id], held: [held.id], queued: [queuedBulk.id, queued.id], sending: []
    }
    const ours = new Set(Object.values(expected).flat())
    for (const [status, ids] of Object.entries(expected)) {
      const records = (await listAll(`status=${status}&limit=500`)).filter((r) => ours.has(r.id))
      assert.deepEqual(records.map((r) => r.id), ids, `status=${status}`)
      assert.ok(records.every((r) => r.status === status))
    }

    // Every status at once, newest first, two at a time: each message exactly once.
    const all = (await listAll('limit=2')).filter((r) => ours.has(r.id))
    assert.deepEqual(all.map((r) => r.id).sort(), [...ours].sort())
    const created = all.map((r) => r.createdAt)
    assert.deepEqual(created, [...created].sort().reverse(), 'newest first')
    assert.deepEqual(all.slice(0, 2).map((r) => r.id), [queuedBulk.id, queued.id])

    const eu = await listAll('domain=mg.example.eu')
    assert.deepEqual(eu.map((r) => r.id), [queuedBulk.id, queued.id])
    const shop = await listAll('status=queued', 'shop')
    assert.ok(!shop.some((r) => ours.has(r.id)), 'another domain\'s messages are not listed for a restricted client')
    assert.ok((await listAll('', 'shop')).every((r) => r.domain === 'mg.example.com'))
    assert.equal((await list('domain=mg.example.eu', 'shop')).statusCode, 403)
  })

  test('a message is found by our Message-Id, with or without angle brackets, only by a client that may see it', async () => {
    const { id, messageId } = await send('mg.example.com')
    await reaches(id, 'sent')
    for (const form of [messageId, messageId.slice(1, -1)]) {
      const found = await list(`messageId=${encodeURIComponent(form)}`)
      assert.equal(found.statusCode, 200)
      assert.deepEqual(found.body.records.map((r) => r.id), [id])
      assert.equal(found.body.cursor, null)
    }
    assert.deepEqual((await list(`messageId=${encodeURIComponent(messageId)}&status=failed`)).body.records, [], 'filters apply')
    const eu = await send('mg.example.eu')
    assert.deepEqual((await list(`messageId=${encodeURIComponent(eu.messageId)}`, 'shop')).body.records, [])
    assert.deepEqual((await list(`messageId=${encodeURIComponent(`<${randomUUID()}@mg.example.com>`)}`)).body, { records: [], cursor: null })
  })

  test('a Message-Id the caller chose through /v3 finds its message, and webhook events reach it', async () => {
    // Any form, and the form nodemailer gives: a uuid at the sender's domain, like ours but not ours.
    const chosen = [`<order-${randomUUID()}@shop.example.org>`, `<${randomUUID()}@mg.example.com>`]
    for (const messageId of chosen) await sendV3('mg.example.com', messageId)
    for (const messageId of chosen) {
      const found = await eventually(async () => {
        const page = await list(`messageId=${encodeURIComponent(messageId)}`)
        return page.body.records[0]?.status === 'sent' ? page.body.records : undefined
      }, `${messageId} found and sent`)
      assert.equal(found.length, 1)
      const [r] = found as [MessageRecord]
      assert.equal(r.messageId, messageId)
      assert.equal(r.domain, 'mg.example.com')
      assert.equal(stack.sims.us.received().filter((m) => m.messageId === messageId).length, 1)

      const own = await webhook('mg.example.com', messageId.slice(1, -1))
      assert.deepEqual(own.json(), { status: 'recorded' })
      assert.deepEqual((await record(r.id)).events.map((e) => e.event), ['delivered'])
      // Another tenant's key vouches for nothing of this domain: a Message-Id at our domain is
      // verified with that domain's key only; any other is looked up among the signer's messages.
      const other = await webhook('mg.other.com', messageId.slice(1, -1))
      if (messageId.endsWith('@mg.example.com>')) assert.equal(other.statusCode, 401)
      else assert.deepEqual(other.json(), { status: 'ignored' })
      assert.equal((await record(r.id)).events.length, 1)
    }
  })
}
