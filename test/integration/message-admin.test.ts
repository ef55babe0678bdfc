import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { MessageRecord } from '../../shared/records.js'
import { eventually, message, onlyPartition, startStack, type Stack } from '../helpers/stack.js'

describe('message operations: cancel, retry, failed listing, replay', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({
      domains: [
        { name: 'mg.example.com', region: 'us' },
        { name: 'mg.fail.com', region: 'us' },
        { name: 'mg.example.eu', region: 'eu' }
      ],
      clients: { shop: ['mg.example.com'] }
    })
  })
  after(async () => { await stack.close() })

  const send = async (domain: string, extra: Record<string, unknown> = {}): Promise<{ id: string, messageId: string }> => {
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message(domain, extra) })
    assert.equal(res.statusCode, 202, res.body)
    return res.json()
  }
  const get = async (id: string, client = 'main'): Promise<{ statusCode: number, record: MessageRecord }> => {
    const res = await stack.api.inject({ url: `/v1/messages/${id}`, headers: stack.auth(client) })
    return { statusCode: res.statusCode, record: res.json() }
  }
  const reaches = (id: string, status: string): Promise<MessageRecord> =>
    eventually(async () => { const { record } = await get(id); return record.status === status ? record : undefined }, `${id} ${status}`)
  const listFailed = async (query: string, client = 'main'): Promise<{ statusCode: number, body: { records: MessageRecord[], cursor: string | null, message?: string } }> => {
    const res = await stack.api.inject({ url: `/v1/messages?${query}`, headers: stack.auth(client) })
    return { statusCode: res.statusCode, body: res.json() }
  }
  const del = (id: string, client = 'main') => stack.api.inject({ method: 'DELETE', url: `/v1/messages/${id}`, headers: stack.auth(client) })
  const retry = (id: string, client = 'main') => stack.api.inject({ method: 'POST', url: `/v1/messages/${id}/retry`, headers: stack.auth(client) })

  describe('cancel', () => {
    test('a scheduled message is cancelled, leaves the queue and is never sent; a second cancel is 409', async () => {
      const sendAt = new Date(Date.now() + 3_600_000).toISOString()
      const { id, messageId } = await send('mg.example.com', { sendAt })
      const { keys } = onlyPartition(stack)
      const redis = stack.links.get('us').storeRedis
      // In the scheduled index, as ingest puts a message with a sendAt (the same ZADD again once it does).
      await redis.zadd(keys.scheduled, Date.parse(sendAt), id)
      const res = await del(id)
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(res.json(), { id, status: 'cancelled' })
      const { record } = await get(id)
      assert.equal(record.status, 'cancelled')
      assert.equal(record.sendAt, new Date(sendAt).toISOString())
      assert.equal(await onlyPartition(stack).queue.getJob(id), undefined, 'the job is gone')
      assert.equal(await redis.zscore(keys.scheduled, id), null, 'and its place in the scheduled index')
      const stream = await redis.xrange(keys.outcomes, '-', '+')
      assert.ok(stream.some(([, fields]) => fields[1]?.includes(`"id":"${id}"`) && fields[1].includes('"status":"cancelled"')), 'the outcome is in the stream')
      assert.equal(await redis.hget(keys.stats, 'cancelled|us|mg.example.com'), '1')
      assert.ok(!stack.sims.us.received().some((m) => m.messageId === messageId))
      const again = await del(id)
      assert.equal(again.statusCode, 409)
      assert.match(again.json().message, /cancelled/)
    })

    test('a sent message cannot be cancelled (409); unknown or another client\'s message is 404', async () => {
      const { id } = await send('mg.example.com')
      await reaches(id, 'sent')
      const res = await del(id)
      assert.equal(res.statusCode, 409)
      assert.match(res.json().message, /sent/)
      assert.equal((await get(id)).record.status, 'sent')
      assert.equal((await del('us-nope')).statusCode, 404)
      const eu = await send('mg.example.eu', { sendAt: new Date(Date.now() + 3_600_000).toISOString() })
      assert.equal((await del(eu.id, 'shop')).statusCode, 404)
      assert.equal((await get(eu.id)).record.status, 'scheduled', 'a refused cancel changes nothing')
    })
  })

  describe('failed messages', () => {
    test('a rejected message is failed, listed, retried once, then sent and no longer listed', async () => {
      stack.sims.us.addFault({ status: 400, domain: 'mg.example.com', count: 1 })
      const { id, messageId } = await send('mg.example.com')
      const failed = await reaches(id, 'failed')
      assert.equal(failed.history.at(-1)?.status, 400)
      const listed = await listFailed('status=failed&domain=mg.example.com')
      assert.equal(listed.statusCode, 200)
      assert.ok(listed.body.records.some((r) => r.id === id && r.status === 'failed'))

      const res = await retry(id)
      assert.equal(res.statusCode, 202, res.body)
      assert.deepEqual(res.json(), { id, messageId, status: 'queued' })
      const sent = await reaches(id, 'sent')
      assert.equal(sent.attempts, 1, 'attempts start again')
      assert.deepEqual(sent.history.map((h) => h.outcome), ['failed', 'sent'])
      assert.equal(stack.sims.us.received().filter((m) => m.messageId === messageId).length, 1)
      const after = await listFailed('status=failed&domain=mg.example.com')
      assert.ok(!after.body.records.some((r) => r.id === id))
      assert.equal((await retry(id)).statusCode, 409, 'only a failed message can be retried')
      assert.equal((await retry('us-nope')).statusCode, 404)
    })

    test('paging with a cursor returns each failure exactly once, newest first; replay requeues all', async () => {
      stack.sims.us.addFault({ status: 400, domain: 'mg.fail.com', count: 7 })
      const ids = await Promise.all(Array.from({ length: 7 }, async (_, i) => (await send('mg.fail.com', { subject: `f${i}` })).id))
      await Promise.all(ids.map((id) => reaches(id, 'failed')))

      const seen: MessageRecord[] = []
      const sizes: number[] = []
      let cursor: string | null = null
      do {
        const page = await listFailed(`status=failed&domain=mg.fail.com&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
        assert.equal(page.statusCode, 200, JSON.stringify(page.body))
        sizes.push(page.body.records.length)
        seen.push(...page.body.records)
        cursor = page.body.cursor
      } while (cursor !== null && sizes.length < 10)
      assert.deepEqual(sizes, [3, 3, 1])
      assert.deepEqual(seen.map((r) => r.id).sort(), [...ids].sort())
      assert.ok(seen.every((r) => r.domain === 'mg.fail.com' && r.status === 'failed'))
      const times = seen.map((r) => r.updatedAt)
      assert.deepEqual(times, [...times].sort().reverse(), 'newest first')

      const forbidden = await stack.api.inject({ method: 'POST', url: '/v1/messages/replay', headers: stack.auth('shop'), payload: { domain: 'mg.fail.com' } })
      assert.equal(forbidden.statusCode, 403)
      const future = await stack.api.inject({ method: 'POST', url: '/v1/messages/replay', headers: stack.auth(), payload: { domain: 'mg.fail.com', from: new Date(Date.now() + 60_000).toISOString() } })
      assert.deepEqual(future.json(), { replayed: 0 }, 'the time range bounds the replay')

      const res = await stack.api.inject({
        method: 'POST', url: '/v1/messages/replay', headers: stack.auth(),
        payload: { domain: 'mg.fail.com', from: new Date(Date.now() - 600_000).toISOString(), to: new Date().toISOString() }
      })
      assert.equal(res.statusCode, 202, res.body)
      assert.deepEqual(res.json(), { replayed: 7 })
      await Promise.all(ids.map((id) => reaches(id, 'sent')))
      assert.deepEqual((await listFailed('status=failed&domain=mg.fail.com')).body, { records: [], cursor: null })
      const again = await stack.api.inject({ method: 'POST', url: '/v1/messages/replay', headers: stack.auth(), payload: { domain: 'mg.fail.com' } })
      assert.deepEqual(again.json(), { replayed: 0 })
    })

    test('a restricted client sees only its domains\' failures', async () => {
      stack.sims.eu.addFault({ status: 400, domain: 'mg.example.eu', count: 1 })
      stack.sims.us.addFault({ status: 400, domain: 'mg.example.com', count: 1 })
      const eu = await send('mg.example.eu')
      const us = await send('mg.example.com')
      await Promise.all([reaches(eu.id, 'failed'), reaches(us.id, 'failed')])
      const all = await listFailed('status=failed')
      assert.ok(all.body.records.some((r) => r.id === eu.id), 'main sees every region')
      assert.ok(all.body.records.some((r) => r.id === us.id))
      const shop = await listFailed('status=failed', 'shop')
      assert.equal(shop.statusCode, 200)
      assert.ok(shop.body.records.some((r) => r.id === us.id))
      assert.ok(shop.body.records.every((r) => r.domain === 'mg.example.com'))
      assert.equal((await listFailed('status=failed&domain=mg.example.eu', 'shop')).statusCode, 403)
      assert.equal((await retry(eu.id, 'shop')).statusCode, 404)
    })

    test('bad listing parameters are 400 naming the field', async () => {
      const status = await listFailed('status=done')
      assert.equal(status.statusCode, 400)
      assert.equal(status.body.message, 'status must be one of queued, scheduled, sending, retrying, held, sent, failed, cancelled')
      const mixed = await listFailed('messageId=%3Ca%40b%3E&cursor=abc')
      assert.equal(mixed.statusCode, 400)
      assert.match(mixed.body.message ?? '', /^cursor does not go with messageId/)
      const limit = await listFailed('status=failed&limit=501')
      assert.equal(limit.statusCode, 400)
      assert.match(limit.body.message ?? '', /limit/)
      assert.equal((await listFailed('status=failed&limit=abc')).statusCode, 400)
      const cursor = await listFailed('status=failed&cursor=nope')
      assert.equal(cursor.statusCode, 400)
      assert.match(cursor.body.message ?? '', /cursor/)
    })
  })
})
