import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { MessageRecord } from '../../shared/records.js'
import { serversOf } from '../../shared/redis.js'
import { clusterSkip, eventually, message, partitionOf, startStack, type Stack, type StackOptions } from '../helpers/stack.js'

describe('send pipeline, single Redis', () => { pipelineTests({}) })
describe('send pipeline, Redis Cluster with 3 partitions per region', { skip: clusterSkip() }, () => {
  pipelineTests({ cluster: true, partitions: 3 })
})

function pipelineTests (target: Pick<StackOptions, 'cluster' | 'partitions'>): void {
  let stack: Stack
  before(async () => {
    stack = await startStack({
      domains: [{ name: 'mg.example.com', region: 'us' }, { name: 'mg.example.eu', region: 'eu' }],
      clients: { shop: ['mg.example.com'] },
      ...target
    })
  })
  after(async () => { await stack.close() })

  test('a message is sent and its record carries the provider id and Date', async () => {
    stack.sims.us.setDateHeader('Thu, 13 Oct 2011 18:02:00 +0000')
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com') })
    assert.equal(res.statusCode, 202, res.body)
    const accepted = res.json()
    assert.equal(accepted.status, 'queued')
    assert.match(accepted.messageId, /^<.+@mg\.example\.com>$/)
    const record = await eventually(async () => {
      const r = await stack.api.inject({ url: `/v1/messages/${accepted.id}`, headers: stack.auth() })
      return r.json().status === 'sent' ? r.json<MessageRecord>() : undefined
    }, 'record sent')
    stack.sims.us.setDateHeader(null)
    assert.equal(record.provider?.id, accepted.messageId)
    assert.equal(record.provider?.status, 200)
    assert.equal(record.provider?.message, 'Queued. Thank you.')
    assert.equal(record.sentAt, '2011-10-13T18:02:00.000Z')
    assert.equal(record.sentAtSource, 'provider')
    assert.equal(record.attempts, 1)
    assert.equal(record.region, 'us')
    assert.equal(record.history.length, 1)
    assert.equal(record.history[0]?.outcome, 'sent')
    assert.match(record.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    const got = stack.sims.us.received().find((m) => m.messageId === accepted.messageId)
    assert.ok(got, 'simulator received it')
    assert.deepEqual(got.fields.to, ['user@example.com'])
    assert.deepEqual(got.fields['h:Message-Id'], [accepted.messageId])
  })

  test('200 messages across two regions each arrive once, at their region, with their domain key', async () => {
    stack.sims.us.reset()
    stack.sims.eu.reset()
    const ids = new Map<string, string>()
    await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const domain = i % 2 === 0 ? 'mg.example.com' : 'mg.example.eu'
      const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message(domain, { subject: `n${i}` }) })
      assert.equal(res.statusCode, 202)
      ids.set(res.json().messageId, domain)
    }))
    await eventually(() => stack.sims.us.received().length + stack.sims.eu.received().length >= 200 ? true : undefined, '200 arrivals')
    for (const [region, domain] of [['us', 'mg.example.com'], ['eu', 'mg.example.eu']] as const) {
      const got = stack.sims[region].received()
      assert.equal(got.length, 100, `${region} count`)
      assert.equal(new Set(got.map((m) => m.messageId)).size, 100, `${region} no duplicates`)
      for (const m of got) {
        assert.equal(m.domain, domain)
        assert.equal(ids.get(m.messageId ?? ''), domain)
        assert.equal(m.key, stack.sendingKeys[domain])
      }
    }
  })

  test('a batch queues its valid messages and names the field of each rejected one', async () => {
    const res = await stack.api.inject({
      method: 'POST', url: '/v1/messages/batch', headers: stack.auth(),
      payload: { messages: [message('mg.example.com'), { ...message('mg.example.com'), from: undefined }, message('mg.example.eu')] }
    })
    assert.equal(res.statusCode, 207, res.body)
    const { results } = res.json()
    assert.equal(results.length, 3)
    assert.deepEqual(Object.keys(results[0]).sort(), ['id', 'index'], 'CONTRACT.md: {index, id}')
    assert.deepEqual(results.map((r: { index: number }) => r.index), [0, 1, 2])
    assert.match(results[0].id, /^us-/)
    assert.match(results[1].error, /messages\[1\]\.from is required/)
    assert.ok(results[2].id.startsWith('eu-'))
  })

  test('the same Idempotency-Key returns the first answer and queues nothing more', async () => {
    const headers = { ...stack.auth(), 'idempotency-key': 'order-42' }
    const first = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers, payload: message('mg.example.com') })
    const second = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers, payload: message('mg.example.com') })
    assert.equal(first.statusCode, 202)
    assert.equal(second.statusCode, 202)
    assert.equal(second.headers['idempotent-replayed'], 'true')
    assert.deepEqual(second.json(), first.json())
    assert.equal(first.headers['idempotent-replayed'], undefined)
  })

  test('sendAt in the future answers scheduled and the record says so', async () => {
    const sendAt = new Date(Date.now() + 3_600_000).toISOString()
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com', { sendAt }) })
    assert.equal(res.statusCode, 202)
    assert.equal(res.json().status, 'scheduled')
    const record = (await stack.api.inject({ url: `/v1/messages/${res.json().id}`, headers: stack.auth() })).json()
    assert.equal(record.status, 'scheduled')
    assert.equal(record.sendAt, new Date(sendAt).toISOString())
  })

  test('a due message leaves the scheduled index when the worker takes it; sent and failed are counted per minute', async () => {
    const sendAt = Date.now() + 2000
    const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com', { sendAt: new Date(sendAt).toISOString() }) })
    assert.equal(res.statusCode, 202)
    const id = res.json().id as string
    const partition = partitionOf(stack, id)
    const redis = stack.links.get('us').storeRedis
    // Ingest lists a message with a future sendAt (written here too, so the worker's part is tested alone).
    await redis.zadd(partition.keys.scheduled, sendAt, id)
    const record = await eventually(async () => {
      const r = await partition.store.read(id)
      return r?.status === 'sent' ? r : undefined
    }, 'the scheduled message sent')
    assert.equal(await redis.zscore(partition.keys.scheduled, id), null)
    const minute = partition.keys.minute(Math.floor(Date.parse(record.updatedAt) / 60_000))
    assert.ok(Number(await redis.hget(minute, 'sent|mg.example.com')) >= 1)
    const ttl = await redis.pttl(minute)
    assert.ok(ttl > 3_600_000 && ttl <= 7_200_000, `the minute's counters expire after 2 h: ${ttl}`)
  })

  describe('refusals change nothing', () => {
    const waiting = async (): Promise<number> => {
      const counts = await Promise.all(stack.links.get('us').partitions().map((p) => p.queue.getJobCounts('wait', 'delayed', 'prioritized', 'active', 'completed', 'failed')))
      return counts.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0)
    }

    test('wrong client key → 401, other domain → 403, no from → 400 naming the field', async () => {
      const before = { queued: await waiting(), sent: stack.sims.us.requests() }
      const wrong = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: { authorization: 'Bearer nope' }, payload: message('mg.example.com') })
      assert.equal(wrong.statusCode, 401)
      const basicWrong = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: { authorization: 'Basic ' + Buffer.from('api:nope').toString('base64') }, payload: message('mg.example.com') })
      assert.equal(basicWrong.statusCode, 401)
      const none = await stack.api.inject({ method: 'POST', url: '/v1/messages', payload: message('mg.example.com') })
      assert.equal(none.statusCode, 401)
      const forbidden = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth('shop'), payload: message('mg.example.eu') })
      assert.equal(forbidden.statusCode, 403)
      assert.match(forbidden.json().message, /mg\.example\.eu/)
      const noFrom = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: { ...message('mg.example.com'), from: undefined } })
      assert.equal(noFrom.statusCode, 400)
      assert.match(noFrom.json().message, /from/)
      const badDate = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com', { sendAt: 'Thu, 13 Oct 2011 18:02:00 CET' }) })
      assert.equal(badDate.statusCode, 400)
      assert.match(badDate.json().message, /sendAt/)
      assert.equal(await waiting(), before.queued)
      assert.equal(stack.sims.us.requests(), before.sent)
    })

    test('Basic auth the way Mailgun SDKs send it is accepted', async () => {
      const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: { authorization: 'Basic ' + Buffer.from(`api:${stack.clientKeys.shop}`).toString('base64') }, payload: message('mg.example.com') })
      assert.equal(res.statusCode, 202)
    })

    test('an unknown id is 404 and another client cannot read a record', async () => {
      const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.eu') })
      assert.equal((await stack.api.inject({ url: '/v1/messages/us-nope', headers: stack.auth() })).statusCode, 404)
      assert.equal((await stack.api.inject({ url: `/v1/messages/${res.json().id}`, headers: stack.auth('shop') })).statusCode, 404)
    })
  })

  test('/docs/json describes the API and /metrics counts outcomes, with no key in either', async () => {
    const spec = await stack.api.inject({ url: '/docs/json' })
    assert.equal(spec.statusCode, 200)
    assert.ok(spec.json().paths['/v1/messages'], 'POST /v1/messages is documented')
    const metrics = await stack.api.inject({ url: '/metrics' })
    assert.equal(metrics.statusCode, 200)
    assert.match(metrics.body, /mailqueue_outcomes_total\{status="sent",region="us",domain="mg\.example\.com"\} \d+/)
    assert.match(metrics.body, /mailqueue_accepted_total\{domain="mg\.example\.eu",region="eu"\} \d+/)
    for (const key of [...Object.values(stack.sendingKeys), ...Object.values(stack.webhookKeys), ...Object.values(stack.clientKeys)]) {
      assert.ok(!spec.body.includes(key) && !metrics.body.includes(key), 'a key leaked into docs or metrics')
    }
  })

  test('no configured key ever appears in the log of the run', async () => {
    assert.ok(stack.logs.length > 0, 'the run logged something')
    assert.ok(stack.logs.some((l) => l.includes('"outcome"') || l.includes('outcome')), 'outcomes are logged')
    const all = stack.logs.join('\n')
    for (const key of [...Object.values(stack.sendingKeys), ...Object.values(stack.webhookKeys), ...Object.values(stack.clientKeys)]) {
      assert.ok(!all.includes(key), 'a key leaked into the log')
      assert.ok(!all.includes(Buffer.from(`api:${key}`).toString('base64')), 'a Basic header leaked into the log')
    }
  })

  if (target.cluster) {
    test('the partitions spread mailqueue\'s keys over every master of the cluster', async () => {
      const ids = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
        const res = await stack.api.inject({ method: 'POST', url: '/v1/messages', headers: stack.auth(), payload: message('mg.example.com', { subject: `spread ${i}` }) })
        assert.equal(res.statusCode, 202, res.body)
        return res.json().id as string
      }))
      assert.ok(new Set(ids.map((id) => id.split('.')[0])).size > 1, 'messages went to several partitions')
      const masters = serversOf(stack.links.get('us').queueRedis)
      assert.equal(masters.length, 3)
      const perMaster = await Promise.all(masters.map(async (m) => (await m.scan('0', 'MATCH', `${stack.config.prefix}:*`, 'COUNT', 10_000))[1].length))
      assert.ok(perMaster.every((n) => n > 0), `every master holds mailqueue keys: ${perMaster.join(', ')}`)
    })
  }
}
